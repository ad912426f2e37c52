using Microsoft.DotNet.Interactive;

namespace EfficientML.Interactive;

/// <summary>Entry point the notebook (or extension.dib) calls.</summary>
public static class NotebookExtension
{
    /// <summary>Registers magic commands and formatters on <paramref name="kernel"/>.</summary>
    public static void Load(Kernel kernel)
    {
        EfficientML.Core.TorchNative.EnsureLoaded();
    }
}
