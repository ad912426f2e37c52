using System.Runtime.CompilerServices;

namespace EfficientML.Core;

/// <summary>
/// Prepares torch when this library is first used, before any of its types runs: TorchSharp modules call into the native
/// library from their base constructor, ahead of the <see cref="TorchNative.EnsureLoaded"/> in a constructor's body, so a
/// program whose first line is <c>new TinyGpt(…)</c> would otherwise meet the Debian 12 loading problem and skip the
/// numerics check.
/// </summary>
static class LibraryInitializer
{
#pragma warning disable CA2255 // A library initializer is the point: every entry point must get the native fixes first.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        try
        {
            TorchNative.EnsureLoaded();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not here: the first explicit EnsureLoaded (every model and dataset constructor calls it) reports it with its message.
        }
    }
}
