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

    /// <summary>
    /// What a linear layer costs for T rows at once against one row, the arithmetic of verifying T tokens in one pass: µs per
    /// product of (T × <paramref name="inputs"/>) with the transpose of an <paramref name="outputs"/> × <paramref name="inputs"/>
    /// float32 weight, for each T of <paramref name="rows"/>. The products cycle through <paramref name="matrices"/> distinct
    /// weights, so with enough of them every product reads its weight from memory, as a decoding step does; each T's median
    /// over <paramref name="repeats"/> sweeps, the Ts taking turns within a sweep.
    /// </summary>
    public static IReadOnlyDictionary<int, double> RowCosts(Device device, int inputs, int outputs, IReadOnlyList<int> rows, int matrices, int repeats)
    {
        if (rows is null || rows.Count == 0 || rows.Any(t => t < 1)) throw new InvalidSettingsException("Give at least one row count, each 1 or more.");
        if (matrices < 1 || repeats < 1) throw new InvalidSettingsException("Use at least one matrix and one repeat.");
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var weights = Enumerable.Range(0, matrices).Select(_ => randn(outputs, inputs, device: device)).ToArray();
        var inputsByRows = rows.ToDictionary(t => t, t => randn(t, inputs, device: device));
        var samples = rows.ToDictionary(t => t, _ => new List<double>());
        for (int r = -1; r < repeats; r++)
            foreach (int t in rows)
            {
                var clock = Stopwatch.StartNew();
                using (NewDisposeScope())
                {
                    Tensor? last = null;
                    foreach (var w in weights) last = nn.functional.linear(inputsByRows[t], w);
                    last!.sum().item<float>();                                    // waits for the device
                }
                if (r >= 0) samples[t].Add(clock.Elapsed.TotalMilliseconds * 1000 / matrices);
            }
        return samples.ToDictionary(s => s.Key, s => BatchStatistics.Median(s.Value));
    }
}
