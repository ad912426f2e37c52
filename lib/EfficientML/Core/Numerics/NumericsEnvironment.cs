using System.Text;

namespace EfficientML.Core.Numerics;

/// <summary>
/// Which float32 kernels this process runs and whether they are right: the CPU and its vector instruction sets, ATen's
/// capability, oneDNN's state and JIT instruction set, and the start-up check's decision. <c>#!environment</c> and
/// <c>efficientml numerics</c> show it.
/// </summary>
public sealed record NumericsEnvironment(
    CpuFeatures Cpu,
    string? AtenCapability,
    string? AtenCapabilitySetting,
    bool? OneDnnEnabled,
    string OneDnnIsa,
    string? OneDnnIsaCap,
    bool? NnpackAvailable,
    NumericsDecision Check)
{
    /// <summary>Looks at this process now (running the start-up check if it has not run yet).</summary>
    public static NumericsEnvironment Collect()
    {
        TorchNative.EnsureLoaded();
        return new NumericsEnvironment(
            CpuFeatures.Current,
            Numerics.AtenCapability.Current,
            Environment.GetEnvironmentVariable(Numerics.AtenCapability.EnvironmentVariable),
            OneDnn.Enabled,
            OneDnn.JitIsa,
            OneDnn.IsaCap,
            Nnpack.Available,
            NumericsGuard.Startup);
    }

    /// <summary>oneDNN's state in words.</summary>
    public string OneDnnState => OneDnnEnabled switch
    {
        true => $"on, JIT kernels for {OneDnnIsa}{(OneDnnIsaCap != null ? $" (capped by ONEDNN_MAX_CPU_ISA={OneDnnIsaCap})" : "")}",
        false => "off: convolutions run on ATen's own kernels",
        null => "switch not reachable in this libtorch",
    };

    /// <summary>NNPACK's state in words.</summary>
    public string NnpackState => NnpackAvailable switch
    {
        true => "available",
        false => "not supported by this CPU: switched off, so libtorch stops trying it (its warning is printed once)",
        null => "unknown",
    };

    /// <summary>Several lines for a console.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        text.AppendLine($"CPU               {Cpu.Name}");
        text.AppendLine($"vector sets       {Cpu.Summary}");
        text.AppendLine($"ATen capability   {AtenCapability ?? "unknown"}{(AtenCapabilitySetting != null ? $" (ATEN_CPU_CAPABILITY={AtenCapabilitySetting})" : "")}; this CPU can run: {string.Join(", ", Cpu.AtenCapabilities)}");
        text.AppendLine($"oneDNN            {OneDnnState}");
        text.AppendLine($"NNPACK            {NnpackState}");
        text.AppendLine($"check ({Check.Mode,-4})      {Check.Explanation}");
        if (Check.WithOneDnn is { } before)
        {
            text.AppendLine($"with oneDNN on ({before.Elapsed.TotalMilliseconds:F0} ms):");
            foreach (var c in before.Checks) text.AppendLine("  " + c);
        }
        text.AppendLine($"as this process runs ({Check.Final.Elapsed.TotalMilliseconds:F0} ms):");
        foreach (var c in Check.Final.Checks) text.AppendLine("  " + c);
        return text.ToString();
    }
}
