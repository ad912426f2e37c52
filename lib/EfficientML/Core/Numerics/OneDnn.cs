namespace EfficientML.Core.Numerics;

/// <summary>
/// libtorch's oneDNN switch (PyTorch's <c>torch.backends.mkldnn.enabled</c>), which TorchSharp does not expose: reached
/// through the two <c>at::Context</c> methods libtorch_cpu exports. With it off, float32 CPU convolutions run on ATen's
/// own kernels (im2col + BLAS, and its depthwise kernels) instead of oneDNN's JIT kernels; nothing else the project
/// uses changes (float32 matmul and linear go to BLAS either way).
/// </summary>
public static unsafe class OneDnn
{
    static readonly object Gate = new();
    static bool _resolved;
    static delegate* unmanaged<nint> _globalContext;
    static delegate* unmanaged<nint, byte> _getEnabled;
    static delegate* unmanaged<nint, byte, void> _setEnabled;

    /// <summary>Environment variables with which oneDNN caps the instruction set of its JIT kernels.</summary>
    public static readonly string[] IsaVariables = ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"];

    /// <summary>True when this libtorch exports the switch (every Linux build of libtorch 2.x does).</summary>
    public static bool SwitchAvailable => Resolve();

    /// <summary>Whether libtorch may use oneDNN; null when the switch cannot be reached.</summary>
    public static bool? Enabled
    {
        get => Resolve() ? _getEnabled(_globalContext()) != 0 : null;
        set
        {
            if (value is not bool on) throw new ArgumentNullException(nameof(value), "Give true or false.");
            if (!Resolve())
                throw new EfficientMLException(
                    "This libtorch does not export at::Context::setUserEnabledMkldnn, so oneDNN cannot be switched from .NET here. " +
                    "Start the process with ONEDNN_MAX_CPU_ISA=SSE41 instead (see environment.md, Troubleshooting).");
            _setEnabled(_globalContext(), on ? (byte)1 : (byte)0);
        }
    }

    /// <summary>The instruction-set cap set for oneDNN in this process's environment, or null when none is.</summary>
    public static string? IsaCap =>
        IsaVariables.Select(v => Environment.GetEnvironmentVariable(v)).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    /// <summary>
    /// The instruction set oneDNN's JIT kernels use on this CPU: the widest the CPU offers (as oneDNN names them), lowered
    /// to <see cref="IsaCap"/> when one is set. oneDNN does not export its own answer; this mirrors its rule.
    /// </summary>
    public static string JitIsa
    {
        get
        {
            var cpu = CpuFeatures.Current;
            string[] order = ["sse41", "avx", "avx2", "avx512_core"];
            int widest = cpu.Avx512Core ? 3 : cpu.Avx2 ? 2 : cpu.Avx ? 1 : cpu.Sse41 ? 0 : -1;
            if (widest < 0) return "none (reference kernels)";
            var cap = IsaCap?.Trim().ToLowerInvariant();
            int capped = cap switch
            {
                null or "all" or "default" => widest,
                _ when cap.StartsWith("avx512", StringComparison.Ordinal) || cap.StartsWith("avx10", StringComparison.Ordinal) => 3,
                _ when cap.StartsWith("avx2", StringComparison.Ordinal) => 2,
                "avx" => 1,
                "sse41" => 0,
                _ => widest, // a name oneDNN does not know: it ignores the cap
            };
            widest = Math.Min(widest, capped);
            return order[widest];
        }
    }

    static bool Resolve()
    {
        lock (Gate)
        {
            if (_resolved) return _globalContext != null;
            _resolved = true;
            nint context = TorchNative.LibtorchCpuExport("_ZN2at13globalContextEv"),
                get = TorchNative.LibtorchCpuExport("_ZNK2at7Context17userEnabledMkldnnEv"),
                set = TorchNative.LibtorchCpuExport("_ZN2at7Context20setUserEnabledMkldnnEb");
            if (context == 0 || get == 0 || set == 0) return false;
            _globalContext = (delegate* unmanaged<nint>)context;
            _getEnabled = (delegate* unmanaged<nint, byte>)get;
            _setEnabled = (delegate* unmanaged<nint, byte, void>)set;
            return true;
        }
    }
}
