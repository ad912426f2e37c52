using EfficientML.Core;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>
/// The training options that <c>#!train</c> and <c>#!race</c> share, bound by name (<c>--eval-every</c> → <see cref="EvalEvery"/>);
/// numbers arrive as text and are checked by <see cref="TrainingOptionParameters.Read"/>.
/// </summary>
public abstract class TrainingOptionsCommand : KernelDirectiveCommand
{
    /// <summary>Optimizer steps.</summary>
    public OptionText? Steps { get; set; }
    /// <summary>Peak learning rate.</summary>
    public OptionText? Lr { get; set; }
    /// <summary>Sequences per step.</summary>
    public OptionText? Batch { get; set; }
    /// <summary>Tokens per sequence.</summary>
    public OptionText? Block { get; set; }
    /// <summary>Warmup steps.</summary>
    public OptionText? Warmup { get; set; }
    /// <summary>Evaluate every this many steps.</summary>
    public OptionText? EvalEvery { get; set; }
    /// <summary>Seed of the batch sampler.</summary>
    public OptionText? Seed { get; set; }
}

/// <summary>The parameters (with hover help) and the reading of <see cref="TrainingOptionsCommand"/>, in one place.</summary>
static class TrainingOptionParameters
{
    /// <summary>
    /// One parameter per training option, each saying its default: those of <paramref name="defaults"/> (a magic that
    /// fine-tunes has gentler ones than <c>#!train</c>), or of <see cref="TrainingOptions"/> when null.
    /// </summary>
    public static IEnumerable<KernelDirectiveParameter> Create(TrainingOptions? defaults = null)
    {
        var d = defaults ?? new TrainingOptions();
        yield return new KernelDirectiveParameter("--steps", $"Optimizer steps (default {d.Steps}).");
        yield return new KernelDirectiveParameter("--lr", $"Peak learning rate of AdamW, reached after the warmup, then cosine decay (default {d.LearningRate}).");
        yield return new KernelDirectiveParameter("--batch", $"Sequences per step (default {d.BatchSize}).");
        yield return new KernelDirectiveParameter("--block", $"Tokens per sequence, at most the model's context (default {d.BlockSize}, or the context if smaller).");
        yield return new KernelDirectiveParameter("--warmup", $"Steps of linear learning-rate warmup (default {d.WarmupSteps}, at most a tenth of --steps).");
        yield return new KernelDirectiveParameter("--eval-every", $"Validation loss every this many steps and at the end; 0 = only at the end (default {d.EvalEvery}).");
        yield return new KernelDirectiveParameter("--seed", $"Seed of the batch sampler (default {d.Seed}); the same seed gives the same batches.");
    }

    /// <summary>
    /// The options <paramref name="c"/> asks for, checked against a model with a context of <paramref name="contextLength"/>
    /// tokens; what it does not set comes from <paramref name="defaults"/> (or <see cref="TrainingOptions"/>' own).
    /// </summary>
    public static TrainingOptions Read(TrainingOptionsCommand c, int contextLength, TrainingOptions? defaults = null)
    {
        // The ranges are the library's (TrainingOptions' limits), said in options; the run's record validates them once more.
        var d = defaults ?? new TrainingOptions();
        int steps = OptionValues.Int(c.Steps, "--steps", d.Steps, min: 1, max: TrainingOptions.MaxSteps);
        if (c.Block is not null && OptionValues.Int(c.Block, "--block", 1, min: 1) > contextLength)
            throw new MagicException($"--block {c.Block.Trim()} is longer than the model's context of {contextLength} tokens. Use --block {contextLength} or less, " +
                                     $"or create a model with a longer context (#!model --context {c.Block.Trim()}).");
        return d with
        {
            Steps = steps,
            LearningRate = OptionValues.Double(c.Lr, "--lr", d.LearningRate, min: 1e-12, max: TrainingOptions.MaxLearningRate),
            BatchSize = OptionValues.Int(c.Batch, "--batch", d.BatchSize, min: 1, max: TrainingOptions.MaxBatchSize),
            BlockSize = OptionValues.Int(c.Block, "--block", Math.Min(d.BlockSize, contextLength), min: 1, max: contextLength),
            WarmupSteps = OptionValues.Int(c.Warmup, "--warmup", Math.Min(d.WarmupSteps, steps / 10), min: 0, max: steps),
            EvalEvery = OptionValues.Int(c.EvalEvery, "--eval-every", d.EvalEvery, min: 0, max: steps),
            Seed = OptionValues.Long(c.Seed, "--seed", d.Seed),
        };
    }

    /// <summary>The training options <paramref name="c"/> sets, as written (e.g. "--steps"), for magics where they do not apply.</summary>
    public static IReadOnlyList<string> Given(TrainingOptionsCommand c)
    {
        var given = new List<string>();
        if (c.Steps != null) given.Add("--steps");
        if (c.Lr != null) given.Add("--lr");
        if (c.Batch != null) given.Add("--batch");
        if (c.Block != null) given.Add("--block");
        if (c.Warmup != null) given.Add("--warmup");
        if (c.EvalEvery != null) given.Add("--eval-every");
        if (c.Seed != null) given.Add("--seed");
        return given;
    }
}
