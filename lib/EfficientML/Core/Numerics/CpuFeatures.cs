using System.Runtime.InteropServices;
using X86 = System.Runtime.Intrinsics.X86;

namespace EfficientML.Core.Numerics;

/// <summary>
/// What this CPU offers to torch's kernels: its name and the vector instruction sets that decide which kernels run
/// (ATen's capability, oneDNN's JIT instruction set). Read from <c>/proc/cpuinfo</c> on Linux (the CPU's own flags,
/// whatever the .NET runtime is told to use), else from .NET's hardware intrinsics.
/// </summary>
public sealed record CpuFeatures(string Name, bool Sse41, bool Avx, bool Fma, bool Avx2, bool Avx512F, bool Avx512BW, bool Avx512VL, bool Avx512DQ)
{
    /// <summary>AVX-512 as oneDNN's <c>avx512_core</c> and ATen's <c>avx512</c> need it: F, BW, VL and DQ.</summary>
    public bool Avx512Core => Avx512F && Avx512BW && Avx512VL && Avx512DQ;

    /// <summary>The vector instruction sets present, narrowest first, e.g. "SSE4.1 AVX FMA AVX2 AVX-512".</summary>
    public string Summary => string.Join(' ', new[]
    {
        Sse41 ? "SSE4.1" : null, Avx ? "AVX" : null, Fma ? "FMA" : null, Avx2 ? "AVX2" : null, Avx512Core ? "AVX-512" : Avx512F ? "AVX-512F" : null,
    }.Where(s => s != null));

    /// <summary>
    /// The ATen CPU capabilities this CPU can run, narrowest first ("default", then "avx2", then "avx512"): the values
    /// <c>ATEN_CPU_CAPABILITY</c> may take here.
    /// </summary>
    public IReadOnlyList<string> AtenCapabilities =>
        new[] { "default", Avx2 && Fma ? "avx2" : null, Avx512Core && Avx2 && Fma ? "avx512" : null }.OfType<string>().ToArray();

    static readonly Lazy<CpuFeatures> Detected = new(Detect);

    /// <summary>This machine's CPU.</summary>
    public static CpuFeatures Current => Detected.Value;

    static CpuFeatures Detect()
    {
        var fromProc = FromProcCpuinfo();
        if (fromProc != null) return fromProc;
        return new CpuFeatures(RuntimeInformation.ProcessArchitecture.ToString(), X86.Sse41.IsSupported, X86.Avx.IsSupported, X86.Fma.IsSupported,
            X86.Avx2.IsSupported, X86.Avx512F.IsSupported, X86.Avx512BW.IsSupported, X86.Avx512F.VL.IsSupported, X86.Avx512DQ.IsSupported);
    }

    static CpuFeatures? FromProcCpuinfo()
    {
        const string path = "/proc/cpuinfo";
        if (!File.Exists(path)) return null;
        try
        {
            string? name = null;
            HashSet<string>? flags = null;
            foreach (var line in File.ReadLines(path))
            {
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                var key = line[..colon].Trim();
                if (key == "model name") name ??= line[(colon + 1)..].Trim();
                else if (key == "flags" && flags == null) flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
                if (name != null && flags != null) break;
            }
            if (flags == null) return null;
            return new CpuFeatures(name ?? "unknown CPU", flags.Contains("sse4_1"), flags.Contains("avx"), flags.Contains("fma"), flags.Contains("avx2"),
                flags.Contains("avx512f"), flags.Contains("avx512bw"), flags.Contains("avx512vl"), flags.Contains("avx512dq"));
        }
        catch (IOException) { return null; }
    }
}
