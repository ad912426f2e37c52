using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.GatedConformer;

/// <summary>
/// The four module kinds of a conformer block. Each has a whole-sequence form (training, and the reference a stream is
/// checked against) and a streaming form that takes one gate block of steps and carries its state. Each counts the times
/// its computation ran (<see cref="Calls"/>), so a test can prove that a skipped module did not run.
/// </summary>
public abstract class ConformerModule : nn.Module
{
    protected ConformerModule(string name) : base(name) { }

    /// <summary>How many times the module's computation ran (whole-sequence or streaming).</summary>
    public long Calls { get; private set; }

    /// <summary>Steps the module computed, in streaming.</summary>
    public long StepsComputed { get; private set; }

    protected void Count(long steps)
    {
        Calls++;
        StepsComputed += steps;
    }

    /// <summary>Sets the counters to zero.</summary>
    public void ResetCounts() => (Calls, StepsComputed) = (0, 0);
}

/// <summary>LayerNorm → Linear(d, f) → SiLU → Linear(f, d); the block adds half of it (Macaron style).</summary>
public sealed class FeedForwardModule : ConformerModule
{
    public readonly LayerNorm norm;
    public readonly Linear up, down;

    public FeedForwardModule(int width, int hidden) : base(nameof(FeedForwardModule))
    {
        norm = nn.LayerNorm(width);
        up = nn.Linear(width, hidden);
        down = nn.Linear(hidden, width);
        RegisterComponents();
    }

    /// <summary>x: (B, T, d) → (B, T, d).</summary>
    public Tensor Forward(Tensor x)
    {
        Count(x.shape[1]);
        return down.forward(F.silu(up.forward(norm.forward(x))));
    }
}

/// <summary>
/// What a stream's attention remembers: keys and values of the last <c>context</c> steps, (1, H, context, hd), and which
/// of them exist (steps before the stream began, or whose attention was skipped, do not).
/// </summary>
public sealed class AttentionCache(Tensor keys, Tensor values, Tensor valid) : IDisposable
{
    public Tensor Keys { get; internal set; } = keys;
    public Tensor Values { get; internal set; } = values;
    /// <summary>(context), bool.</summary>
    public Tensor Valid { get; internal set; } = valid;

    public void Dispose()
    {
        Keys.Dispose();
        Values.Dispose();
        Valid.Dispose();
    }
}

/// <summary>
/// Multi-head self-attention in which step t sees steps t − context … t, and only those whose attention module ran
/// (a skipped step computed no key or value). No positional encoding: the convolution module gives the order.
/// </summary>
public sealed class BoundedSelfAttention : ConformerModule
{
    readonly int _heads, _headDim, _context;
    public readonly LayerNorm norm;
    public readonly Linear qkv, proj;

    public BoundedSelfAttention(int width, int heads, int context) : base(nameof(BoundedSelfAttention))
    {
        (_heads, _headDim, _context) = (heads, width / heads, context);
        norm = nn.LayerNorm(width);
        qkv = nn.Linear(width, 3 * width);
        proj = nn.Linear(width, width);
        RegisterComponents();
    }

    (Tensor Q, Tensor K, Tensor V) Project(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1];
        var parts = qkv.forward(norm.forward(x)).view(b, t, 3, _heads, _headDim).permute(2, 0, 3, 1, 4);  // (3, B, H, T, hd)
        return (parts[0], parts[1], parts[2]);
    }

    Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor allowed)
    {
        // allowed: broadcastable to (B, H, Tq, Tk), bool. Every query is allowed at least itself, so no row is empty.
        var scores = q.matmul(k.transpose(-2, -1)).div(Math.Sqrt(_headDim));       // (B, H, Tq, Tk)
        scores = scores.masked_fill(allowed.logical_not(), float.NegativeInfinity);
        var y = F.softmax(scores, -1).matmul(v);                                    // (B, H, Tq, hd)
        long b = y.shape[0], t = y.shape[2];
        return proj.forward(y.transpose(1, 2).contiguous().view(b, t, _heads * _headDim));
    }

    /// <summary>x: (B, T, d); ran: (B, T) bool, whether each step's attention runs (null: every step) → (B, T, d).</summary>
    public Tensor Forward(Tensor x, Tensor? ran)
    {
        Count(x.shape[1]);
        long t = x.shape[1];
        var (q, k, v) = Project(x);
        var query = arange(t, device: x.device).unsqueeze(1);                        // (T, 1)
        var key = arange(t, device: x.device).unsqueeze(0);                          // (1, T)
        var band = key.le(query).logical_and(key.ge(query - _context));              // (T, T)
        if (ran is null) return Attend(q, k, v, band);
        var allowed = band.unsqueeze(0).logical_and(ran.unsqueeze(1)).logical_or(query.eq(key).unsqueeze(0)); // (B, T, T)
        return Attend(q, k, v, allowed.unsqueeze(1));
    }

    /// <summary>An empty cache: no past step exists.</summary>
    public AttentionCache NewCache(Device device) => new(
        zeros(1, _heads, _context, _headDim, device: device).DetachFromDisposeScope(),
        zeros(1, _heads, _context, _headDim, device: device).DetachFromDisposeScope(),
        zeros(_context, ScalarType.Bool, device: device).DetachFromDisposeScope());

    /// <summary>One block of steps of a stream, x: (1, G, d) → (1, G, d); the cache moves on by G steps.</summary>
    public Tensor Step(Tensor x, AttentionCache cache)
    {
        long g = x.shape[1];
        Count(g);
        var (q, k, v) = Project(x);                                                  // (1, H, G, hd)
        var keys = cat([cache.Keys, k], 2);                                          // (1, H, L+G, hd)
        var values = cat([cache.Values, v], 2);
        var valid = cat([cache.Valid, ones(g, ScalarType.Bool, device: x.device)], 0);
        // Query i is step L+i of the concatenation; it sees i … L+i, where those steps exist.
        var query = arange(g, device: x.device).unsqueeze(1);
        var key = arange(_context + g, device: x.device).unsqueeze(0);
        var allowed = key.ge(query).logical_and(key.le(query + _context)).logical_and(valid.unsqueeze(0));
        var y = Attend(q, keys, values, allowed);
        Remember(cache, keys, values, valid);
        return y;
    }

    /// <summary>A skipped block: the cache moves on by <paramref name="steps"/> steps that have no keys.</summary>
    public void Skip(AttentionCache cache, int steps)
    {
        var device = cache.Keys.device;
        var shape = new long[] { 1, _heads, steps, _headDim };
        Remember(cache, cat([cache.Keys, zeros(shape, device: device)], 2), cat([cache.Values, zeros(shape, device: device)], 2),
            cat([cache.Valid, zeros(steps, ScalarType.Bool, device: device)], 0));
    }

    void Remember(AttentionCache cache, Tensor keys, Tensor values, Tensor valid)
    {
        long total = valid.shape[0];
        var (oldK, oldV, oldValid) = (cache.Keys, cache.Values, cache.Valid);
        cache.Keys = keys.narrow(2, total - _context, _context).contiguous().DetachFromDisposeScope();
        cache.Values = values.narrow(2, total - _context, _context).contiguous().DetachFromDisposeScope();
        cache.Valid = valid.narrow(0, total - _context, _context).contiguous().DetachFromDisposeScope();
        oldK.Dispose();
        oldV.Dispose();
        oldValid.Dispose();
    }
}

/// <summary>What a stream's convolution remembers: the gated-linear-unit outputs of the last kernel − 1 steps, (1, K−1, d).</summary>
public sealed class ConvolutionCache(Tensor past) : IDisposable
{
    public Tensor Past { get; internal set; } = past;

    public void Dispose() => Past.Dispose();
}

/// <summary>
/// LayerNorm → Linear(d, 2d) → GLU → causal depthwise convolution → LayerNorm → SiLU → Linear(d, d). LayerNorm instead of
/// the paper's BatchNorm, so a stream needs no batch statistics. A step whose module is skipped contributes zeros to the
/// convolution's past (it computed nothing). The depthwise convolution is written as a sum of K shifted products rather
/// than conv1d: the same arithmetic for a whole sequence and for a stream, and no dependence on which convolution kernel
/// a CPU picks (some float32 convolution kernels compute wrong values on some CPUs; see Core/Numerics).
/// </summary>
public sealed class CausalConvolutionModule : ConformerModule
{
    readonly int _kernel;
    public readonly LayerNorm norm, convNorm;
    public readonly Linear pointwiseIn, pointwiseOut;
    public readonly Parameter depthwise, depthwiseBias;

    public CausalConvolutionModule(int width, int kernel) : base(nameof(CausalConvolutionModule))
    {
        _kernel = kernel;
        norm = nn.LayerNorm(width);
        pointwiseIn = nn.Linear(width, 2 * width);
        depthwise = nn.Parameter(randn(width, kernel).div(Math.Sqrt(kernel)));       // (d, K): tap k multiplies step t − (K−1) + k
        depthwiseBias = nn.Parameter(zeros(width));
        convNorm = nn.LayerNorm(width);
        pointwiseOut = nn.Linear(width, width);
        RegisterComponents();
    }

    Tensor Gated(Tensor x) => F.glu(pointwiseIn.forward(norm.forward(x)), -1);       // (B, T, d)

    /// <summary>padded: (B, K−1+T, d) → (B, T, d), each step the weighted sum of itself and its K − 1 predecessors.</summary>
    Tensor Depthwise(Tensor padded, long steps)
    {
        var weight = depthwise.t();                                                  // (K, d)
        Tensor sum = depthwiseBias;
        for (int k = 0; k < _kernel; k++) sum = sum + padded.narrow(1, k, steps).mul(weight[k]);
        return pointwiseOut.forward(F.silu(convNorm.forward(sum)));
    }

    /// <summary>x: (B, T, d); ran: (B, T, 1) float 0/1 (null: every step runs) → (B, T, d).</summary>
    public Tensor Forward(Tensor x, Tensor? ran)
    {
        Count(x.shape[1]);
        var u = ran is null ? Gated(x) : Gated(x).mul(ran);
        return Depthwise(F.pad(u, [0, 0, _kernel - 1, 0]), x.shape[1]);
    }

    /// <summary>An empty cache: the past before the stream is zeros, like the whole sequence's padding.</summary>
    public ConvolutionCache NewCache(int width, Device device) => new(zeros(1, _kernel - 1, width, device: device).DetachFromDisposeScope());

    /// <summary>One block of steps of a stream, x: (1, G, d) → (1, G, d).</summary>
    public Tensor Step(Tensor x, ConvolutionCache cache)
    {
        long g = x.shape[1];
        Count(g);
        var padded = cat([cache.Past, Gated(x)], 1);                                 // (1, K−1+G, d)
        var y = Depthwise(padded, g);
        Remember(cache, padded);
        return y;
    }

    /// <summary>A skipped block: <paramref name="steps"/> zero steps enter the convolution's past.</summary>
    public void Skip(ConvolutionCache cache, int steps) =>
        Remember(cache, cat([cache.Past, zeros(1, steps, cache.Past.shape[2], device: cache.Past.device)], 1));

    void Remember(ConvolutionCache cache, Tensor padded)
    {
        var old = cache.Past;
        cache.Past = padded.narrow(1, padded.shape[1] - (_kernel - 1), _kernel - 1).contiguous().DetachFromDisposeScope();
        old.Dispose();
    }
}

/// <summary>
/// A gate: a two-layer network that reads its module's input averaged over a gate block, (B, J, d) — with
/// <see cref="GatedConformerConfig.GateContext"/>, also the same averages of the blocks before, (B, J, d × (1 + context)) —
/// and gives the logit of running the module, (B, J). Its last bias starts positive, so training begins with every module
/// running.
/// </summary>
public sealed class ModuleGate : nn.Module<Tensor, Tensor>
{
    public readonly Linear hidden, output;

    public ModuleGate(int width, int hiddenWidth, int context = 0) : base(nameof(ModuleGate))
    {
        hidden = nn.Linear(width * (1 + context), hiddenWidth);
        output = nn.Linear(hiddenWidth, 1);
        using (no_grad()) output.bias!.fill_(3.0);
        RegisterComponents();
    }

    public override Tensor forward(Tensor pooled) => output.forward(F.relu(hidden.forward(pooled))).squeeze(-1);
}

/// <summary>
/// What a gate reads in a whole sequence: its module's input (B, T, d) averaged over each gate block, then beside each
/// block the averages of the <c>context</c> blocks before it (zeros before the first) → (B, J, d × (1 + context)).
/// </summary>
internal static class GateInput
{
    public static Tensor Of(Tensor x, int gateSteps, int context)
    {
        long b = x.shape[0], j = x.shape[1] / gateSteps;
        var pooled = x.view(b, j, gateSteps, -1).mean([2]);                          // (B, J, d)
        if (context == 0) return pooled;
        var parts = new List<Tensor> { pooled };
        for (int k = 1; k <= context; k++)
            parts.Add(k >= j ? zeros_like(pooled) : cat([zeros(b, k, pooled.shape[2], device: x.device), pooled.narrow(1, 0, j - k)], 1));
        return cat(parts, -1);
    }
}
