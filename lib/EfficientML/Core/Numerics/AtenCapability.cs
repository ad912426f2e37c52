using System.Text;

namespace EfficientML.Core.Numerics;

/// <summary>
/// The CPU capability ATen dispatches its vectorised kernels to ("default", "avx2" or "avx512"), as libtorch itself
/// reports it (<c>at::get_cpu_capability()</c>); <c>ATEN_CPU_CAPABILITY</c> lowers it before torch starts.
/// </summary>
public static unsafe class AtenCapability
{
    /// <summary>The environment variable that chooses ATen's capability (read once, when libtorch starts).</summary>
    public const string EnvironmentVariable = "ATEN_CPU_CAPABILITY";

    static readonly Lazy<string?> Reported = new(Read);

    /// <summary>The capability in use, or null when this libtorch does not export the query.</summary>
    public static string? Current => Reported.Value;

    static string? Read()
    {
        var export = TorchNative.LibtorchCpuExport("_ZN2at18get_cpu_capabilityB5cxx11Ev");
        if (export == 0) return null;
        // Returns a libstdc++ std::string through a hidden pointer: { char* data; size_t length; char local[16] }.
        // The names are short enough for the local buffer, so nothing is allocated that would need freeing.
        var slot = stackalloc byte[32];
        ((delegate* unmanaged<byte*, void>)export)(slot);
        var data = *(byte**)slot;
        var length = *(nuint*)(slot + 8);
        if (data != slot + 16 || length > 15) return null; // not the layout this reads: do not guess
        return Encoding.ASCII.GetString(data, (int)length).ToLowerInvariant();
    }
}
