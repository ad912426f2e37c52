using System.Runtime.InteropServices;
using EfficientML.Core.Numerics;
using TorchSharp;

namespace EfficientML.Core;

/// <summary>
/// Makes TorchSharp's native library loadable wherever the assembly was loaded from: a build output
/// (natives beside it, already fixed by the build) or the NuGet package cache (a notebook kernel after
/// <c>#r "nuget: …"</c>), and makes float32 arithmetic right on this CPU (<see cref="NumericsGuard"/>). Call before
/// anything touches <c>torch</c>; the extension does so in <c>Load</c>, and every model and dataset constructor does.
/// </summary>
public static class TorchNative
{
#if EFFICIENTML_CUDA
    const string LibtorchPackagePattern = "libtorch-cuda-*-linux-x64";
#else
    const string LibtorchPackagePattern = "libtorch-cpu-linux-x64";
#endif
    static readonly object Gate = new();
    static string? _loadedFrom, _libtorch;
    static bool _librariesLoaded;

    /// <summary>Path of the libLibTorchSharp that was loaded, or null when TorchSharp's own loader was left to it.</summary>
    public static string? LoadedFrom => _loadedFrom;

    /// <summary>
    /// Loads the native libraries (<see cref="EnsureLibrariesLoaded"/>), makes TorchSharp's finalizers safe
    /// (<see cref="DeferredNativeRelease"/>), then checks float32 arithmetic against float64 once per process and switches
    /// off what computes wrong values here (<see cref="NumericsGuard"/>).
    /// Harmless to call again.
    /// </summary>
    public static void EnsureLoaded()
    {
        EnsureLibrariesLoaded();
        DeferredNativeRelease.Install();
        NumericsGuard.EnsureApplied();
    }

    /// <summary>
    /// Loads libtorch and libLibTorchSharp by full path. Where the system's libstdc++ lacks GLIBCXX_3.4.32
    /// (Debian 12), loads a copy with that requirement marked weak, written to a temporary folder.
    /// Harmless to call twice; does nothing outside Linux.
    /// </summary>
    public static void EnsureLibrariesLoaded()
    {
        if (!OperatingSystem.IsLinux()) return;
        lock (Gate)
        {
            if (_librariesLoaded) return;
            Load();
            _librariesLoaded = true; // not before: a failure is reported again at the next call
        }
    }

    static void Load()
    {
        var torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (string.IsNullOrEmpty(torchSharpDir)) return;
        var bridge = FindNative(torchSharpDir, "libLibTorchSharp.so");
        var libtorch = FindLibtorch(torchSharpDir);
        if (bridge == null || libtorch == null) return; // leave it to TorchSharp, which explains what is missing
        NativeLibrary.Load(libtorch);
        _libtorch = libtorch;
        if (NativeLibrary.TryLoad(bridge, out _)) { _loadedFrom = bridge; return; }
        var patched = PatchedCopy(bridge);
        if (!NativeLibrary.TryLoad(patched, out _))
            throw new DllNotFoundException(
                $"Could not load TorchSharp's native library from {bridge} (nor a copy with {ElfWeakVersion.Glibcxx} made weak at {patched}). " +
                "Check that the libtorch package matches TorchSharp (environment.md, Troubleshooting).");
        _loadedFrom = patched;
    }

    /// <summary>
    /// Handle of the loaded libtorch_cpu (beside the libtorch this class loaded, else by its soname), or 0 when it
    /// cannot be found. Its C++ exports reach switches TorchSharp does not wrap.
    /// </summary>
    internal static nint LibtorchCpuHandle()
    {
        EnsureLibrariesLoaded();
        string[] candidates = _libtorch != null
            ? [Path.Combine(Path.GetDirectoryName(_libtorch)!, "libtorch_cpu.so")]
            : OperatingSystem.IsWindows() ? ["torch_cpu.dll"] : OperatingSystem.IsMacOS() ? ["libtorch_cpu.dylib"] : ["libtorch_cpu.so"];
        if (_libtorch == null) torch.zeros(1).Dispose(); // let TorchSharp load its natives first, so the soname resolves to them
        foreach (var candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        return 0;
    }

    /// <summary>Address of an exported libtorch_cpu symbol (a mangled C++ name), or 0 when this libtorch lacks it.</summary>
    internal static nint LibtorchCpuExport(string symbol)
    {
        var library = LibtorchCpuHandle();
        return library != 0 && NativeLibrary.TryGetExport(library, symbol, out var address) ? address : 0;
    }

    static string PatchedCopy(string bridge)
    {
        var info = new FileInfo(bridge);
        var folder = Path.Combine(Path.GetTempPath(), "efficientml-native", $"{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}");
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, "libLibTorchSharp.so");
        if (!File.Exists(target) && !ElfWeakVersion.WritePatchedCopy(bridge, target, ElfWeakVersion.Glibcxx))
            File.Copy(bridge, target, overwrite: true);
        return target;
    }

    /// <summary>Natives sit beside the assembly in a build output, or under runtimes/ in a package.</summary>
    static string? FindNative(string assemblyDir, string file)
    {
        string[] candidates =
        {
            Path.Combine(assemblyDir, file),
            Path.Combine(assemblyDir, "runtimes", "linux-x64", "native", file),
            Path.Combine(assemblyDir, "..", "..", "runtimes", "linux-x64", "native", file),
        };
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }

    static string? FindLibtorch(string torchSharpDir)
    {
        var local = FindNative(torchSharpDir, "libtorch.so");
        if (local != null) return local;
        // Package cache layout: <root>/torchsharp/<ver>/lib/net8.0/TorchSharp.dll and <root>/libtorch-*/<ver>/runtimes/…
        var root = Path.GetFullPath(Path.Combine(torchSharpDir, "..", "..", "..", ".."));
        if (!Directory.Exists(root)) return null;
        return Directory.EnumerateDirectories(root, LibtorchPackagePattern)
            .SelectMany(p => Directory.EnumerateDirectories(p).OrderByDescending(v => v, StringComparer.Ordinal))
            .Select(v => Path.Combine(v, "runtimes", "linux-x64", "native", "libtorch.so"))
            .FirstOrDefault(File.Exists);
    }
}
