using TorchSharp;

namespace EfficientML.Core;

/// <summary>
/// Intra-op thread count for torch on the CPU. On a small, busy machine one thread is the stable choice;
/// <c>EFFICIENTML_THREADS</c> overrides the default of half the cores (at least one).
/// </summary>
public static class TorchThreads
{
    /// <summary>Environment variable with the thread count to use.</summary>
    public const string EnvironmentVariable = "EFFICIENTML_THREADS";

    /// <summary>The count <see cref="ApplyDefault"/> sets.</summary>
    public static int DefaultCount
    {
        get
        {
            var text = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(text))
            {
                if (int.TryParse(text, out var n) && n > 0) return n;
                throw new InvalidSettingsException($"{EnvironmentVariable}='{text}' is not a positive whole number of threads.");
            }
            return Math.Max(1, Environment.ProcessorCount / 2);
        }
    }

    /// <summary>Current torch intra-op thread count.</summary>
    public static int Current
    {
        get { TorchNative.EnsureLoaded(); return torch.get_num_threads(); }
    }

    /// <summary>Sets the thread count (≥ 1).</summary>
    public static void Set(int threads)
    {
        if (threads < 1) throw new InvalidSettingsException($"Use at least one thread (got {threads}).");
        TorchNative.EnsureLoaded();
        torch.set_num_threads(threads);
    }

    /// <summary>Sets <see cref="DefaultCount"/> threads.</summary>
    public static void ApplyDefault() => Set(DefaultCount);
}
