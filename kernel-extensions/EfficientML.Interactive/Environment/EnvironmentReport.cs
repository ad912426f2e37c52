using System.Reflection;
using System.Runtime.InteropServices;
using EfficientML.Core;
using EfficientML.Core.Numerics;
using EfficientML.Models;
using TorchSharp;

namespace EfficientML.Interactive;

/// <summary>
/// Where this notebook runs: device, threads, versions, where the data and the pretrained model are, and which
/// native TorchSharp library was loaded. <c>#!environment</c> shows it; <see cref="Collect"/> gives it to C# code.
/// </summary>
public sealed record EnvironmentReport
{
    /// <summary>Version of this extension.</summary>
    public required string ExtensionVersion { get; init; }
    /// <summary>Version of the EfficientML library.</summary>
    public required string LibraryVersion { get; init; }
    /// <summary>Device techniques use by default (<c>EFFICIENTML_DEVICE</c> overrides), or why it could not be chosen.</summary>
    public required string Device { get; init; }
    /// <summary>True when CUDA is usable in this process.</summary>
    public required bool CudaAvailable { get; init; }
    /// <summary>Number of CUDA devices.</summary>
    public required int CudaDevices { get; init; }
    /// <summary>Torch intra-op threads.</summary>
    public required int TorchThreads { get; init; }
    /// <summary>Value of <c>EFFICIENTML_THREADS</c>, if set.</summary>
    public string? ThreadsSetting { get; init; }
    /// <summary>Logical processors of the machine.</summary>
    public required int ProcessorCount { get; init; }
    /// <summary>TorchSharp's version.</summary>
    public required string TorchSharpVersion { get; init; }
    /// <summary>libtorch's version as TorchSharp reports it.</summary>
    public required string LibtorchVersion { get; init; }
    /// <summary>The .NET runtime.</summary>
    public required string DotNetVersion { get; init; }
    /// <summary>The operating system.</summary>
    public required string OperatingSystem { get; init; }
    /// <summary>The datasets folder, or null when it was not found (see <see cref="DatasetsProblem"/>).</summary>
    public string? DatasetsFolder { get; init; }
    /// <summary>Why the datasets folder was not found.</summary>
    public string? DatasetsProblem { get; init; }
    /// <summary>Path of the pretrained model file (where it should be).</summary>
    public string? PretrainedModelPath { get; init; }
    /// <summary>Size of the pretrained model file, or null when it is missing.</summary>
    public long? PretrainedModelBytes { get; init; }
    /// <summary>The libLibTorchSharp that was loaded (a patched temporary copy on Debian 12), or null when TorchSharp loaded it itself.</summary>
    public string? NativeLibrary { get; init; }
    /// <summary>The libtorch_cpu/libtorch_cuda mapped into this process.</summary>
    public string? LibtorchPath { get; init; }
    /// <summary>The kernel's working directory (relative paths in magics start here).</summary>
    public required string WorkingDirectory { get; init; }
    /// <summary>The CPU, the float32 kernels in use (ATen capability, oneDNN) and the start-up numerics check.</summary>
    public required NumericsEnvironment Numerics { get; init; }

    /// <summary>Looks at this process now.</summary>
    public static EnvironmentReport Collect()
    {
        TorchNative.EnsureLoaded();
        string device;
        try { device = Devices.Default.ToString(); }
        catch (InvalidSettingsException e) { device = "unusable: " + e.Message; }
        string? datasets = null, problem = null, modelPath = null;
        long? modelBytes = null;
        try
        {
            datasets = ProjectPaths.Datasets;
            modelPath = PretrainedModels.TinyMobyPath;
            if (File.Exists(modelPath)) modelBytes = new FileInfo(modelPath).Length;
        }
        catch (MissingFileException e) { problem = e.Message; }
        return new EnvironmentReport
        {
            ExtensionVersion = VersionOf(typeof(EnvironmentReport).Assembly),
            LibraryVersion = VersionOf(typeof(TinyGpt).Assembly),
            Device = device,
            CudaAvailable = torch.cuda.is_available(),
            CudaDevices = torch.cuda.is_available() ? torch.cuda.device_count() : 0,
            TorchThreads = EfficientML.Core.TorchThreads.Current,
            ThreadsSetting = Environment.GetEnvironmentVariable(EfficientML.Core.TorchThreads.EnvironmentVariable),
            ProcessorCount = Environment.ProcessorCount,
            TorchSharpVersion = VersionOf(typeof(torch).Assembly),
            LibtorchVersion = torch.__version__,
            DotNetVersion = RuntimeInformation.FrameworkDescription,
            OperatingSystem = RuntimeInformation.OSDescription,
            DatasetsFolder = datasets,
            DatasetsProblem = problem,
            PretrainedModelPath = modelPath,
            PretrainedModelBytes = modelBytes,
            NativeLibrary = TorchNative.LoadedFrom,
            LibtorchPath = MappedLibrary("libtorch_cpu.so") ?? MappedLibrary("libtorch_cuda.so"),
            WorkingDirectory = Environment.CurrentDirectory,
            Numerics = NumericsEnvironment.Collect(),
        };
    }

    internal static string VersionOf(Assembly assembly)
    {
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                      ?? assembly.GetName().Version?.ToString() ?? "unknown";
        int plus = version.IndexOf('+');
        return plus > 0 ? version[..plus] : version;
    }

    /// <summary>Path of a shared library mapped into this process (Linux), from /proc/self/maps.</summary>
    static string? MappedLibrary(string file)
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        try
        {
            return File.ReadLines(maps)
                .Select(line => line.IndexOf('/') is var i and >= 0 ? line[i..] : null)
                .FirstOrDefault(path => path != null && Path.GetFileName(path) == file);
        }
        catch (IOException) { return null; }
    }
}
