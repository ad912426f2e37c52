using TorchSharp;

namespace EfficientML.Core;

/// <summary>Chooses where tensors live: CUDA when available, else CPU; <c>EFFICIENTML_DEVICE</c> overrides.</summary>
public static class Devices
{
    /// <summary>Environment variable that forces a device: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public const string EnvironmentVariable = "EFFICIENTML_DEVICE";

    /// <summary>The device every technique uses unless told otherwise.</summary>
    public static torch.Device Default => Choose(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>True when this process can use a CUDA device (needs the CUDA build, see environment.md).</summary>
    public static bool CudaAvailable
    {
        get { TorchNative.EnsureLoaded(); return torch.cuda.is_available(); }
    }

    /// <summary>
    /// Resolves a device request. Null or empty means automatic (CUDA when available, else CPU).
    /// Asking for CUDA where there is none is an error that says how to get it.
    /// </summary>
    public static torch.Device Choose(string? request)
    {
        TorchNative.EnsureLoaded();
        var text = request?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(text) || text == "auto")
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (text == "cpu") return torch.CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new InvalidSettingsException($"Device '{request}' was asked for, but CUDA is not available in this process. " +
                    $"Use the CUDA build (dotnet build -p:EfficientMLCuda=true, see environment.md) on a machine with an NVIDIA GPU, or set {EnvironmentVariable}=cpu.");
            if (text == "cuda") return torch.CUDA;
            if (!int.TryParse(text.AsSpan(5), out var index) || index < 0 || index >= torch.cuda.device_count())
                throw new InvalidSettingsException($"Device '{request}' does not exist: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0.");
            return torch.device(DeviceType.CUDA, index);
        }
        throw new InvalidSettingsException($"Unknown device '{request}'. Use 'cpu', 'cuda', 'cuda:N' or 'auto'.");
    }
}
