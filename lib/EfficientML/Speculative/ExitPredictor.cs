using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Speculative;

/// <summary>
/// The exit decision (reconstruction of M2R2's ARLA): per exit layer a small head reads the (fast) state and gives the
/// probability that the shared head's prediction there already equals the full model's. Trained by binary
/// cross-entropy on exactly that event.
/// </summary>
public sealed class ExitPredictor : nn.Module
{
    public readonly ModuleList<Sequential> heads;

    /// <summary>Heads for exits 1 … <paramref name="maxExit"/> of a model of width <paramref name="dim"/>.</summary>
    public ExitPredictor(int dim, int maxExit, int hidden = 32, long seed = 0) : base(nameof(ExitPredictor))
    {
        if (maxExit < 1) throw new InvalidSettingsException($"The exit predictor needs an exit layer of at least 1, not {maxExit}.");
        TorchNative.EnsureLoaded();
        Seeding.Everything(seed);
        heads = nn.ModuleList(Enumerable.Range(0, maxExit)
            .Select(_ => nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1))).ToArray());
        RegisterComponents();
    }

    /// <summary>A predictor for every exit 1 … L−1 of <paramref name="model"/>, on its device.</summary>
    public static ExitPredictor For(TinyGpt model, int hidden = 32, long seed = 0)
    {
        var p = new ExitPredictor(model.Config.Dim, model.Config.Layers - 1, hidden, seed);
        p.to(model.Device);
        return p;
    }

    /// <summary>Deepest exit served.</summary>
    public int MaxExit => heads.Count;

    /// <summary>Logit of "can exit" (…) for states (…, C) at exit layer <paramref name="exit"/> (1-based).</summary>
    public Tensor Logit(Tensor state, int exit) => heads[exit - 1].forward(state).squeeze(-1);

    /// <summary>
    /// Trains the predictor on <paramref name="corpus"/> with labels from <paramref name="model"/> (frozen) and the states of
    /// <paramref name="adapters"/>' fast stream (slow states when null); validation value = mean BCE on the validation split.
    /// </summary>
    public static TrainingRun Train(ExitPredictor predictor, TinyGpt model, AcceleratorAdapters? adapters, TextCorpus corpus,
        TrainingOptions training, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        if (predictor.MaxExit > model.Config.Layers - 1)
            throw new InvalidSettingsException($"The predictor serves exits up to {predictor.MaxExit}, but the model has {model.Config.Layers} layers.");
        adapters?.CheckFor(model.Config, Math.Min(adapters.MaxExit, predictor.MaxExit));
        training = training.Validate();
        using var generator = Seeding.Generator(training.Seed);
        using var evalMode = new EvalMode(model);
        adapters?.eval();
        var run = new TrainingRun("exit predictor", training, (long)training.BatchSize * training.BlockSize);
        return Trainer.Run(predictor, _ =>
        {
            var (x, _) = corpus.SampleBatch(Split.Train, training.BatchSize, training.BlockSize, generator, model.Device);
            return predictor.Loss(model, adapters, x);
        }, run, () => BatchStatistics.MeanLoss(
            corpus.EvaluationBatches(Split.Validation, training.BatchSize, training.BlockSize, training.EvalBatches, model.Device),
            (x, _) => predictor.Loss(model, adapters, x)), progress, cancellation);
    }

    /// <summary>Mean binary cross-entropy over exits 1 … MaxExit on token ids (B, T).</summary>
    public Tensor Loss(TinyGpt model, AcceleratorAdapters? adapters, Tensor idx)
    {
        Tensor states, labels;
        using (no_grad())
        {
            var slow = model.HiddenStates(idx);
            states = adapters is null ? slow : ExitStates(slow, adapters);
            var final = model.Logits(slow[-1]).argmax(-1);
            labels = stack(Enumerable.Range(1, MaxExit).Select(j => model.Logits(states[j]).argmax(-1).eq(final)).ToArray()).to(ScalarType.Float32);
        }
        var logits = stack(Enumerable.Range(1, MaxExit).Select(j => Logit(states[j], j)).ToArray());
        return F.binary_cross_entropy_with_logits(logits, labels);
    }

    /// <summary>Fast states where the adapters reach, slow states beyond.</summary>
    static Tensor ExitStates(Tensor slow, AcceleratorAdapters adapters)
    {
        var fast = adapters.FastStates(slow);
        if (fast.shape[0] == slow.shape[0]) return fast;
        return cat(new[] { fast, slow.narrow(0, fast.shape[0], slow.shape[0] - fast.shape[0]) }, 0);
    }
}
