using TorchSharp;

namespace EfficientML.Core;

/// <summary>One seed for every random source, so the same seed gives the same numbers.</summary>
public static class Seeding
{
    /// <summary>Seeds torch (CPU and CUDA) and returns a seeded <see cref="Random"/> for host-side choices.</summary>
    public static Random Everything(long seed)
    {
        TorchNative.EnsureLoaded();
        torch.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
        return new Random(unchecked((int)seed));
    }

    /// <summary>A torch generator of its own, for sampling that must not disturb the global stream.</summary>
    public static torch.Generator Generator(long seed)
    {
        TorchNative.EnsureLoaded();
        return new torch.Generator((ulong)seed);
    }
}
