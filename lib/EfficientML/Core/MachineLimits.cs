using System.Diagnostics;
using static TorchSharp.torch;

namespace EfficientML.Core;

/// <summary>What this machine can do at best, measured: the float32 matmul rate and the memory bandwidth of a large copy.</summary>
public static class MachineLimits
{
    /// <summary>FLOP/s of an <paramref name="n"/>² × <paramref name="n"/>² float32 matmul, over <paramref name="repeats"/> + 1 products after a warm-up.</summary>
    public static double MatmulFlops(Device device, int n, int repeats)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n, device: device);
        var b = randn(n, n, device: device);
        a.matmul(b).sum().item<float>(); // warm up
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) a.matmul(b);
        a.matmul(b).sum().item<float>(); // waits for the device
        return 2.0 * n * n * n * (repeats + 1) / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Bytes/s of copying a float32 tensor of <paramref name="bytes"/> into another (far larger than any cache): each copy
    /// reads and writes <paramref name="bytes"/>, so it moves twice that. Median over <paramref name="repeats"/> copies after a warm-up.
    /// </summary>
    public static double CopyBandwidth(Device device, long bytes, int repeats)
    {
        using var scope = NewDisposeScope();
        var source = randn(bytes / sizeof(float), device: device);
        var target = empty_like(source);
        target.copy_(source);
        var seconds = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            target.copy_(source);
            target[0].item<float>(); // waits for the device
            seconds[i] = clock.Elapsed.TotalSeconds;
        }
        return 2.0 * bytes / BatchStatistics.Median(seconds);
    }
}
