using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientML.Distributed;

/// <summary>
/// Data-parallel training over any <see cref="ICommunicator"/> (MPI processes on one or many machines, or threads): every
/// rank starts from rank 0's weights, computes the gradients of its shard of the global batch, and the gradients are summed
/// over ranks and averaged, so each rank takes the optimizer step single-process training takes with the whole global batch.
/// </summary>
public static class DataParallel
{
    /// <summary>Makes every rank's parameters equal to rank 0's (one all-reduce: rank 0's values plus zeros from the others).</summary>
    public static void Broadcast(nn.Module model, ICommunicator group)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var parameters = model.parameters().ToList();
        var flat = cat(parameters.Select(p => group.Rank == 0 ? p.detach().reshape(-1) : zeros(p.numel(), dtype: p.dtype)).ToArray());
        group.AllReduceSum(flat);
        Scatter(flat, parameters);
    }

    /// <summary>Replaces each parameter's gradient by its mean over ranks (a missing gradient counts as zeros).</summary>
    public static void AverageGradients(IReadOnlyList<Parameter> parameters, ICommunicator group)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var flat = cat(parameters.Select(p => p.grad is { } g ? g.reshape(-1) : zeros(p.numel(), dtype: p.dtype)).ToArray());
        group.AllReduceSum(flat);
        flat.div_(group.Size);
        long offset = 0;
        foreach (var p in parameters)
        {
            var part = flat.narrow(0, offset, p.numel()).view(p.shape);
            if (p.grad is { } g) g.copy_(part);
            else p.grad = part.clone().DetachFromDisposeScope();
            offset += p.numel();
        }
    }

    static void Scatter(Tensor flat, IReadOnlyList<Parameter> parameters)
    {
        long offset = 0;
        foreach (var p in parameters)
        {
            p.copy_(flat.narrow(0, offset, p.numel()).view(p.shape));
            offset += p.numel();
        }
    }

    /// <summary>
    /// Next-token training of <paramref name="model"/> on <paramref name="corpus"/> across the ranks of <paramref name="group"/>:
    /// <see cref="TrainingOptions.BatchSize"/> is the global batch; every rank draws the same global batch (same sampler seed)
    /// and trains on its rows. Equal, within float32 rounding, to <see cref="LanguageModelTraining.Train(TinyGpt, TextCorpus, TrainingOptions, string, Action{TrainingRun}?, CancellationToken)"/>
    /// in one process with the same options. <paramref name="evaluate"/>: also evaluate on the validation split (every rank computes it).
    /// </summary>
    public static TrainingRun TrainLanguageModel(TinyGpt model, TextCorpus corpus, TrainingOptions options, ICommunicator group,
        string name = "TinyGpt (data parallel)", bool evaluate = true, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        if (options.BatchSize % group.Size != 0)
            throw new InvalidSettingsException($"The global batch of {options.BatchSize} sequences does not split evenly over {group.Size} ranks: use a multiple of {group.Size}.");
        var run = LanguageModelTraining.NewRun(model, corpus, options, name);
        Broadcast(model, group);
        int shard = options.BatchSize / group.Size;
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        using var sampler = Seeding.Generator(options.Seed);
        return Trainer.RunWithOwnBackward(model, _ =>
        {
            var (x, y) = corpus.SampleBatch(Split.Train, options.BatchSize, options.BlockSize, sampler, model.Device);
            var loss = model.Loss(x.narrow(0, group.Rank * shard, shard), y.narrow(0, group.Rank * shard, shard));
            loss.backward();
            AverageGradients(parameters, group);
            var mean = loss.detach().reshape(1).contiguous();
            group.AllReduceSum(mean);
            return mean.div(group.Size).reshape(Array.Empty<long>());
        }, run, evaluate ? () => LanguageModelTraining.Evaluate(model, corpus, Split.Validation, options.BatchSize, options.BlockSize, options.EvalBatches) : null,
            progress, cancellation);
    }

    /// <summary>The small model and settings of <see cref="Check"/>.</summary>
    public static (TinyGptConfig Config, TrainingOptions Options) CheckSetup(int steps) => (
        new TinyGptConfig { VocabSize = 256, ContextLength = 32, Layers = 2, Dim = 32, Heads = 2, KvHeads = 2, MlpDim = 64, TiedHead = true },
        new TrainingOptions { Steps = steps, BatchSize = 8, BlockSize = 32, WarmupSteps = 1, EvalEvery = 0, Seed = 11 });

    /// <summary>
    /// Trains a small model on Moby-Dick for <paramref name="steps"/> steps across <paramref name="group"/>, and on rank 0
    /// also in one process with the global batch; returns (on rank 0) the largest difference of any weight, else NaN.
    /// </summary>
    public static double Check(ICommunicator group, int steps = 5)
    {
        var (config, options) = CheckSetup(steps);
        using var corpus = TextCorpus.MobyDick();
        using var parallel = new TinyGpt(config, seed: 3);
        // Rank 0's initial weights, everywhere; the one-process run starts from a copy of them (threads share the global
        // random stream, so a seed alone would not make the same weights on every thread).
        Broadcast(parallel, group);
        using var single = group.Rank == 0 ? new TinyGpt(config) : null;
        if (single != null)
            using (no_grad())
                foreach (var (a, b) in single.parameters().Zip(parallel.parameters())) a.copy_(b);
        var run = TrainLanguageModel(parallel, corpus, options, group, evaluate: false);
        if (run.Outcome != TrainingOutcome.Completed) throw new EfficientMLException($"Data-parallel training did not complete: {run.Message}");
        group.Barrier();
        if (single is null) return double.NaN;
        LanguageModelTraining.Train(single, corpus, options, "TinyGpt (one process)");
        using var _ = no_grad();
        return parallel.parameters().Zip(single.parameters(), (a, b) => (double)(a - b).abs().max().item<float>()).Max();
    }
}
