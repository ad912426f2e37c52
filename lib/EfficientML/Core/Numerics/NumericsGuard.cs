namespace EfficientML.Core.Numerics;

/// <summary>What the start-up check found and did.</summary>
/// <param name="Mode">The <see cref="NumericsGuard.EnvironmentVariable"/> setting: auto, on or off.</param>
/// <param name="WithOneDnn">The checks with oneDNN on, when they ran before it was switched off (auto mode), else null.</param>
/// <param name="Final">The checks with the settings this process keeps.</param>
/// <param name="OneDnnSwitchedOff">True when the check switched oneDNN off because its convolutions computed wrong values.</param>
public sealed record NumericsDecision(string Mode, NumericsReport? WithOneDnn, NumericsReport Final, bool OneDnnSwitchedOff)
{
    /// <summary>One sentence on what was decided and why.</summary>
    public string Explanation => (Mode, OneDnnSwitchedOff, Final.Passed) switch
    {
        (_, true, true) => $"oneDNN's float32 convolutions compute wrong values on this CPU ({WithOneDnn!.Failures[0]}); " +
                           "they were switched off, and ATen's own convolution kernels pass every check.",
        (_, true, false) => "oneDNN's convolutions were switched off for computing wrong values, yet checks still fail: " + NumericsGuard.Advice(Final),
        ("off", false, var ok) => "oneDNN is off (EFFICIENTML_ONEDNN=off); " + (ok ? "every check passes." : NumericsGuard.Advice(Final)),
        ("on", false, var ok) => "oneDNN is kept on (EFFICIENTML_ONEDNN=on, the check's fix disabled); " + (ok ? "every check passes." : NumericsGuard.Advice(Final)),
        (_, false, true) => "every float32 check agrees with float64; oneDNN stays on.",
        (_, false, false) => NumericsGuard.Advice(Final),
    };
}

/// <summary>
/// Runs <see cref="NumericsSelfTest"/> once per process, when torch is first loaded, and keeps this CPU's float32
/// arithmetic right. Where oneDNN's JIT convolutions read memory they never wrote (seen with libtorch 2.10's oneDNN 3.7
/// on an AMD EPYC with AVX-512: input channels not a multiple of the vector block, batch above 1, give wrong values or
/// NaN), it switches oneDNN off, so convolutions run on ATen's own kernels; elsewhere oneDNN stays on and costs nothing.
/// <see cref="EnvironmentVariable"/> overrides: <c>auto</c> (default), <c>off</c> (always ATen's kernels), <c>on</c>
/// (keep oneDNN whatever the check finds: only for showing the fault).
/// </summary>
public static class NumericsGuard
{
    /// <summary>Environment variable: auto, on or off.</summary>
    public const string EnvironmentVariable = "EFFICIENTML_ONEDNN";

    static readonly object Gate = new();
    static NumericsDecision? _startup;
    static bool _running;

    /// <summary>What the start-up check found and did (runs it if it has not run yet).</summary>
    public static NumericsDecision Startup
    {
        get { EnsureApplied(); return _startup!; }
    }

    internal static void EnsureApplied()
    {
        if (_startup != null) return;
        lock (Gate)
        {
            if (_startup != null || _running) return; // _running: torch code inside the check reached EnsureLoaded again
            _running = true;
            try
            {
                Nnpack.SwitchOffWhereUnavailable();
                _startup = Decide(ReadMode());
                if (!_startup.Final.Passed)
                    Console.Error.WriteLine($"EfficientML numerics check: {_startup.Explanation}");
            }
            finally { _running = false; }
        }
    }

    static string ReadMode()
    {
        var text = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant();
        return text switch
        {
            null or "" or "auto" => "auto",
            "on" or "off" => text,
            _ => throw new InvalidSettingsException($"{EnvironmentVariable}='{text}' is not a setting: use auto (the default), off or on."),
        };
    }

    static NumericsDecision Decide(string mode)
    {
        if (mode == "off" && OneDnn.SwitchAvailable) OneDnn.Enabled = false;
        if (mode == "on" && OneDnn.SwitchAvailable) OneDnn.Enabled = true;
        var first = NumericsSelfTest.Run();
        if (mode != "auto" || !first.ConvolutionFailed || OneDnn.Enabled != true) return new NumericsDecision(mode, null, first, false);
        OneDnn.Enabled = false;
        return new NumericsDecision(mode, first, NumericsSelfTest.Run(), true);
    }

    /// <summary>The failing check and what to do about it.</summary>
    internal static string Advice(NumericsReport report)
    {
        var failure = report.Failures.FirstOrDefault();
        if (failure == null) return "every check passes.";
        string fix = failure.Operation.StartsWith("conv", StringComparison.Ordinal) && report.OneDnnEnabled == true
            ? $"unset {EnvironmentVariable} (or set it to auto) so oneDNN's convolutions are switched off"
            : failure.Operation.StartsWith("conv", StringComparison.Ordinal) && report.OneDnnEnabled == null
                ? "start the process with ONEDNN_MAX_CPU_ISA=SSE41 (this libtorch does not let oneDNN be switched off)"
                : $"start the process with {AtenCapability.EnvironmentVariable}=default, and report the CPU and this line (see environment.md, Troubleshooting)";
        return $"float32 {failure}. Fix: {fix}.";
    }
}
