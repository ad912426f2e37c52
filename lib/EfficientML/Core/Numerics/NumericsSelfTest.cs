using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Core.Numerics;

/// <summary>One float32 operation compared with the same operation in float64.</summary>
/// <param name="Operation">What was computed, e.g. "conv1d forward".</param>
/// <param name="Shape">The sizes, e.g. "40→32 channels, kernel 5, batch 8, 98 frames".</param>
/// <param name="MaxError">Largest |float32 − float64| over the output (NaN when float32 gave NaN).</param>
/// <param name="Scale">Largest |float64| over the output: errors are judged relative to it.</param>
/// <param name="Tolerance">Largest error allowed, relative to <paramref name="Scale"/>.</param>
public sealed record NumericsCheck(string Operation, string Shape, double MaxError, double Scale, double Tolerance)
{
    /// <summary>Error relative to the output's scale.</summary>
    public double RelativeError => MaxError / Math.Max(Scale, double.Epsilon);

    /// <summary>True when the float32 result is finite and within the tolerance.</summary>
    public bool Passed => double.IsFinite(MaxError) && RelativeError <= Tolerance;

    /// <summary>One line: the operation, the shape, the error against its limit.</summary>
    public override string ToString() =>
        $"{Operation} ({Shape}): max |Δ| {MaxError:G3} on outputs up to {Scale:G3}, {RelativeError:G2} relative (limit {Tolerance:G1}) — {(Passed ? "ok" : "WRONG")}";
}

/// <summary>The self-test's checks, run once with one oneDNN setting.</summary>
public sealed record NumericsReport(IReadOnlyList<NumericsCheck> Checks, bool? OneDnnEnabled, TimeSpan Elapsed)
{
    /// <summary>True when every check passed.</summary>
    public bool Passed => Checks.All(c => c.Passed);

    /// <summary>The checks that failed.</summary>
    public IReadOnlyList<NumericsCheck> Failures => Checks.Where(c => !c.Passed).ToList();

    /// <summary>True when a convolution check failed.</summary>
    public bool ConvolutionFailed => Failures.Any(c => c.Operation.StartsWith("conv", StringComparison.Ordinal));
}

/// <summary>
/// Float32 against float64 for the operations the techniques stand on: convolutions of the shapes the speech models use
/// (and the narrowest shape known to go wrong: input channels not a multiple of 8), their gradients, matmul, linear and
/// causal attention. Cheap enough for every process start (tens of milliseconds). Uses a generator of its own, so the
/// global random stream is untouched; runs in its own dispose scope.
/// </summary>
public static class NumericsSelfTest
{
    /// <summary>Error allowed relative to the output's scale: float32 rounding over these sums stays near 1e-6; the faults seen are 1e-1 and NaN.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Runs every check with libtorch's current settings.</summary>
    public static NumericsReport Run()
    {
        TorchNative.EnsureLibrariesLoaded();
        var clock = Stopwatch.StartNew();
        var checks = new List<NumericsCheck>();
        using (var scope = NewDisposeScope())
        using (var generator = new Generator(20_261_206))
        {
            PoisonFreedMemory();
            Tensor Random(params long[] shape) => randn(shape, dtype: float64, generator: generator);
            void Add(string op, string shape, Func<Tensor, Tensor> f32, Func<Tensor, Tensor>? f64, Tensor input)
            {
                using var inner = NewDisposeScope();
                Tensor actual, expected;
                using (no_grad())
                {
                    actual = f32(input.to(float32)).to(float64);
                    expected = (f64 ?? f32)(input);
                }
                checks.Add(Compare(op, shape, actual, expected));
            }

            foreach (var (cin, cout, k, stride, dilation, batch, frames) in ConvolutionShapes)
            {
                var w = Random(cout, cin, k) * (1.0 / Math.Sqrt(cin * k));
                var w32 = w.to(float32);
                long pad = k / 2 * dilation;
                Add("conv1d forward", $"{cin}→{cout} channels, kernel {k}{(stride > 1 ? $", stride {stride}" : "")}{(dilation > 1 ? $", dilation {dilation}" : "")}, batch {batch}, {frames} frames",
                    x => nn.functional.conv1d(x, w32, stride: stride, padding: pad, dilation: dilation),
                    x => nn.functional.conv1d(x, w, stride: stride, padding: pad, dilation: dilation),
                    Random(batch, cin, frames));
            }
            checks.AddRange(ConvolutionGradients(Random));
            {
                var head = Random(16, 1, 5, 5) * 0.2;
                var head32 = head.to(float32);
                Add("conv2d forward", "1→16 channels, 5×5 kernel, stride (2, 1), batch 4, 40×98",
                    x => nn.functional.conv2d(x, head32, strides: [2, 1], padding: [2, 2]),
                    x => nn.functional.conv2d(x, head, strides: [2, 1], padding: [2, 2]), Random(4, 1, 40, 98));
                var depthwise = Random(20, 1, 1, 3) * 0.5;
                var depthwise32 = depthwise.to(float32);
                Add("conv2d forward", "depthwise, 20 channels, 1×3 kernel, dilation (1, 2), batch 4, 20×49",
                    x => nn.functional.conv2d(x, depthwise32, padding: [0, 2], dilation: [1, 2], groups: 20),
                    x => nn.functional.conv2d(x, depthwise, padding: [0, 2], dilation: [1, 2], groups: 20), Random(4, 20, 20, 49));
            }
            {
                var b = Random(384, 128);
                var b32 = b.to(float32);
                Add("matmul", "(64×384) @ (384×128)", x => x.matmul(b32), x => x.matmul(b), Random(64, 384));
                var weight = Random(512, 128) * 0.1;
                var bias = Random(512);
                var weight32 = weight.to(float32);
                var bias32 = bias.to(float32);
                Add("linear", "128 → 512 features, 2×33 tokens", x => nn.functional.linear(x, weight32, bias32), x => nn.functional.linear(x, weight, bias), Random(2, 33, 128));
            }
            {
                var qkv = Random(3, 2, 4, 64, 32);
                Add("attention", "causal, batch 2, 4 heads, 64 tokens, head size 32",
                    t => nn.functional.scaled_dot_product_attention(t[0], t[1], t[2], is_casual: true),
                    t => CausalAttentionByHand(t[0], t[1], t[2]), qkv);
            }
        }
        return new NumericsReport(checks, OneDnn.Enabled, clock.Elapsed);
    }

    /// <summary>Conv1d shapes checked: (in, out, kernel, stride, dilation, batch, frames).</summary>
    static readonly (int In, int Out, int Kernel, int Stride, int Dilation, int Batch, int Frames)[] ConvolutionShapes =
    [
        (40, 32, 5, 1, 1, 8, 98),   // RepCNN's first block on 40 log-mel bands
        (32, 48, 5, 2, 1, 8, 98),   // its strided second block
        (48, 64, 5, 2, 1, 8, 49),
        (23, 33, 7, 1, 1, 5, 41),   // input channels not a multiple of 8: the narrowest shape seen to go wrong
        (33, 33, 7, 1, 2, 5, 41),   // dilated
        (24, 24, 3, 1, 1, 1, 30),   // batch 1 takes other kernels
    ];

    /// <summary>Gradients of a RepCNN-like conv1d with respect to input and weight, against float64.</summary>
    static IEnumerable<NumericsCheck> ConvolutionGradients(Func<long[], Tensor> random)
    {
        using var inner = NewDisposeScope();
        using var _ = enable_grad();
        var x = random([8, 40, 98]);
        var w = random([32, 40, 5]) * (1.0 / Math.Sqrt(200));
        var upstream = random([8, 32, 98]);
        (Tensor dx, Tensor dw) Gradients(ScalarType type)
        {
            var xi = x.to(type).detach().requires_grad_();
            var wi = w.to(type).detach().requires_grad_();
            nn.functional.conv1d(xi, wi, padding: 2).backward([upstream.to(type)]);
            return (xi.grad!.to(float64), wi.grad!.to(float64));
        }
        var (dx32, dw32) = Gradients(float32);
        var (dx64, dw64) = Gradients(float64);
        return
        [
            Compare("conv1d input gradient", "40→32 channels, kernel 5, batch 8, 98 frames", dx32, dx64),
            Compare("conv1d weight gradient", "40→32 channels, kernel 5, batch 8, 98 frames", dw32, dw64),
        ];
    }

    static Tensor CausalAttentionByHand(Tensor q, Tensor k, Tensor v)
    {
        long t = q.shape[^2];
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(q.shape[^1]);   // (B, H, T, T)
        var future = ones(t, t, dtype: ScalarType.Bool).triu(1);
        return scores.masked_fill(future, double.NegativeInfinity).softmax(-1).matmul(v);
    }

    static NumericsCheck Compare(string op, string shape, Tensor actual, Tensor expected)
    {
        double error = (actual - expected).abs().max().item<double>();
        double scale = expected.abs().max().item<double>();
        return new NumericsCheck(op, shape, error, scale, Tolerance);
    }

    /// <summary>
    /// Freed heap blocks are reused by the next allocations of a similar size. Filling a few such blocks with NaN and
    /// freeing them makes a kernel that reads memory it never wrote (the oneDNN fault) return NaN here every time,
    /// instead of whatever happened to be there before.
    /// </summary>
    static void PoisonFreedMemory()
    {
        foreach (long floats in new long[] { 1 << 10, 4 << 10, 8 << 10, 16 << 10, 24 << 10, 30 << 10 })
            using (var t = full(floats, float.NaN, dtype: float32)) { }
    }
}
