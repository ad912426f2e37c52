using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Speculative;

/// <summary>One low-rank accelerator: LayerNorm, down-projection to the rank, GELU, up-projection (zero at the start).</summary>
public sealed class LowRankAdapter : nn.Module<Tensor, Tensor>
{
    /// <summary>Epsilon of the adapter's LayerNorm.</summary>
    internal const double NormEps = 1e-5;

    public readonly LayerNorm norm;
    public readonly Linear down, up;

    public LowRankAdapter(int dim, int rank) : base(nameof(LowRankAdapter))
    {
        norm = nn.LayerNorm(dim, NormEps);
        down = nn.Linear(dim, rank);
        up = nn.Linear(rank, dim);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.zeros_(up.weight!);
        nn.init.zeros_(up.bias!);
    }

    public override Tensor forward(Tensor x) => up.forward(F.gelu(down.forward(norm.forward(x))));
}

/// <summary>
/// M2R2's fast residual stream (reconstruction): beside the model's own (slow) residual stream h_0 … h_L runs a fast one,
/// f_j = h_j + Σ_{i&lt;j} A_i(h_{i+1}), where each accelerator A_i is a low-rank MLP reading the slow state after block i.
/// The accelerators push the state toward where the last layer will take it, so the shared head reads a better prediction
/// at an early layer. The fast stream adds no attention of its own: it uses the slow stream's keys and values, so the
/// draft and the full model share one KV cache. Zero-initialised, the fast stream starts equal to the slow one (plain early exit).
/// </summary>
public sealed class AcceleratorAdapters : nn.Module
{
    public readonly ModuleList<LowRankAdapter> adapters;

    /// <summary>Accelerators for exits at layers 1 … <paramref name="maxExit"/> of a model of width <paramref name="dim"/>.</summary>
    public AcceleratorAdapters(int dim, int maxExit, int rank = 32, long seed = 0) : base(nameof(AcceleratorAdapters))
    {
        if (maxExit < 1) throw new InvalidSettingsException($"Accelerators need an exit layer of at least 1, not {maxExit}.");
        if (rank < 1 || rank > dim) throw new InvalidSettingsException($"The adapters' rank must lie in 1..{dim}, not {rank}.");
        TorchNative.EnsureLoaded();
        Seeding.Everything(seed);
        Dim = dim;
        Rank = rank;
        adapters = nn.ModuleList(Enumerable.Range(0, maxExit).Select(_ => new LowRankAdapter(dim, rank)).ToArray());
        RegisterComponents();
    }

    /// <summary>Accelerators sized for <paramref name="model"/>, for exits at layers 1 … <paramref name="maxExit"/> (default L − 1), on its device.</summary>
    public static AcceleratorAdapters For(TinyGpt model, int? maxExit = null, int rank = 32, long seed = 0)
    {
        int exit = maxExit ?? model.Config.Layers - 1;
        if (exit < 1 || exit > model.Config.Layers - 1)
            throw new InvalidSettingsException($"The exit layer must lie in 1..{model.Config.Layers - 1} for a model of {model.Config.Layers} layers, not {exit}.");
        var a = new AcceleratorAdapters(model.Config.Dim, exit, rank, seed);
        a.to(model.Device);
        return a;
    }

    /// <summary>Width of the residual stream.</summary>
    public int Dim { get; }

    /// <summary>Rank of each accelerator.</summary>
    public int Rank { get; }

    /// <summary>Deepest exit layer these accelerators serve.</summary>
    public int MaxExit => adapters.Count;

    /// <summary>Parameters of the accelerators for an exit at layer <paramref name="exit"/> (the ones it runs).</summary>
    public long ParametersUpTo(int exit) => adapters.Take(exit).Sum(a => a.parameters().Sum(p => p.numel()));

    /// <summary>Throws one clear message when these accelerators cannot serve an exit at <paramref name="exit"/> of a model configured as <paramref name="config"/>.</summary>
    public void CheckFor(TinyGptConfig config, int exit)
    {
        if (Dim != config.Dim)
            throw new InvalidSettingsException($"The accelerators were made for width {Dim}, the model has width {config.Dim}; train accelerators for this model.");
        if (exit > MaxExit)
            throw new InvalidSettingsException($"These accelerators serve exits at layers 1..{MaxExit}, not {exit}; make them with a deeper maxExit.");
    }

    /// <summary>
    /// The fast state at layer <paramref name="exit"/> from the slow states <paramref name="slow"/>[0 … exit] (index 0 = embeddings):
    /// h_exit + Σ_{i&lt;exit} A_i(h_{i+1}).
    /// </summary>
    public Tensor Fast(IReadOnlyList<Tensor> slow, int exit)
    {
        if (exit < 0 || exit > MaxExit) throw new InvalidSettingsException($"Exit layer must lie in 0..{MaxExit}, not {exit}.");
        var f = slow[exit];
        for (int i = 0; i < exit; i++) f = f + adapters[i].forward(slow[i + 1]);
        return f;
    }

    /// <summary>
    /// The accelerators an exit at <paramref name="exit"/> runs, stacked for decoding (<see cref="StackedAccelerators"/>): a
    /// copy of their weights without gradients, so take a new one after training them.
    /// </summary>
    internal StackedAccelerators Stack(int exit)
    {
        if (exit < 1 || exit > MaxExit) throw new InvalidSettingsException($"Exit layer must lie in 1..{MaxExit}, not {exit}.");
        return new StackedAccelerators(adapters.Take(exit).ToList(), Dim);
    }

    /// <summary>Fast states at every exit 0 … <see cref="MaxExit"/> at once from all slow states (L+1, B, T, C): (MaxExit+1, B, T, C).</summary>
    public Tensor FastStates(Tensor slow)
    {
        var outs = new List<Tensor> { slow[0] };
        Tensor? sum = null;
        for (int i = 0; i < MaxExit; i++)
        {
            var a = adapters[i].forward(slow[i + 1]);
            sum = sum is null ? a : sum + a;
            outs.Add(slow[i + 1] + sum);
        }
        return stack(outs);
    }
}

/// <summary>
/// The first k accelerators with their weights stacked, so a draft step runs them as a few batched operations instead of
/// k small chains: one LayerNorm over (k, N, C), one batched down-projection (bmm), and one matmul that does all k
/// up-projections and their sum (the k rank-r hidden states side by side times the k up-weights side by side). Weights are a
/// copy made without gradients: for decoding, not training.
/// </summary>
internal sealed class StackedAccelerators : IDisposable
{
    readonly int _k, _dim;
    readonly Tensor _gamma, _beta;        // (k, 1, C)
    readonly Tensor _down, _downBias;     // (k, C, r), (k, 1, r)
    readonly Tensor _up, _upBias;         // (C, k·r), (C): the up-projections side by side, and their biases summed

    public StackedAccelerators(IReadOnlyList<LowRankAdapter> adapters, int dim)
    {
        (_k, _dim) = (adapters.Count, dim);
        using var normal = inference_mode(false);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        _gamma = stack(adapters.Select(a => a.norm.weight!).ToArray()).unsqueeze(1).DetachFromDisposeScope();
        _beta = stack(adapters.Select(a => a.norm.bias!).ToArray()).unsqueeze(1).DetachFromDisposeScope();
        _down = stack(adapters.Select(a => a.down.weight!.t()).ToArray()).DetachFromDisposeScope();
        _downBias = stack(adapters.Select(a => a.down.bias!).ToArray()).unsqueeze(1).DetachFromDisposeScope();
        _up = cat(adapters.Select(a => a.up.weight!).ToArray(), 1).DetachFromDisposeScope();
        _upBias = stack(adapters.Select(a => a.up.bias!).ToArray()).sum(0L).DetachFromDisposeScope();  // 0L: a plain 0 would pick the dtype overload
    }

    /// <summary>The fast state at exit k from the slow states <paramref name="slow"/>[0 … k], each (B, T, C): as <see cref="AcceleratorAdapters.Fast"/>.</summary>
    public Tensor Fast(IReadOnlyList<Tensor> slow)
    {
        var h = slow[_k];                                                                   // (B, T, C)
        var states = stack(Enumerable.Range(1, _k).Select(i => slow[i]).ToArray()).view(_k, -1, _dim); // (k, N, C)
        long n = states.shape[1];
        var normed = F.layer_norm(states, [_dim], eps: LowRankAdapter.NormEps).mul_(_gamma).add_(_beta);
        var hidden = normed.bmm(_down).add_(_downBias).gelu_();                                // (k, N, r)
        var sideBySide = hidden.transpose(0, 1).reshape(n, -1);                               // (N, k·r)
        return h + F.linear(sideBySide, _up, _upBias).view(h.shape);                          // Σ_i A_i(h_{i+1})
    }

    public void Dispose()
    {
        foreach (var t in new[] { _gamma, _beta, _down, _downBias, _up, _upBias }) t.Dispose();
    }
}
