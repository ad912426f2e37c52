using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!train</c>, bound by name (<c>--eval-every</c> → <see cref="EvalEvery"/>); numbers arrive as text and are checked here.</summary>
public sealed class TrainCommand : KernelDirectiveCommand
{
    /// <summary>Name of the model to train.</summary>
    public string? Model { get; set; }
    /// <summary>Optimizer steps.</summary>
    public string? Steps { get; set; }
    /// <summary>Peak learning rate.</summary>
    public string? Lr { get; set; }
    /// <summary>Sequences per step.</summary>
    public string? Batch { get; set; }
    /// <summary>Tokens per sequence.</summary>
    public string? Block { get; set; }
    /// <summary>Warmup steps.</summary>
    public string? Warmup { get; set; }
    /// <summary>Evaluate every this many steps.</summary>
    public string? EvalEvery { get; set; }
    /// <summary>Seed of the batch sampler.</summary>
    public string? Seed { get; set; }
    /// <summary>Variable name of the training run.</summary>
    public string? Run { get; set; }
}

/// <summary>
/// <c>#!train</c>: trains a named model on Moby-Dick with a live loss chart (shown once, then updated in place,
/// a few times a second at most), honours the kernel's interrupt between steps, and shares the run with C#.
/// C#: <c>LanguageModelTraining.Train(model, TextCorpus.MobyDick(), options)</c>.
/// </summary>
static class TrainMagic
{
    public const string Name = "#!train";
    public const string DefaultRunName = "run";

    /// <summary>Least time between two redraws of the live chart.</summary>
    public static TimeSpan UpdateInterval => LiveView.UpdateInterval;

    public static void AddTo(Kernel kernel, NotebookSession session)
    {
        var d = new TrainingOptions();
        var model = new KernelDirectiveParameter("--model", $"Name of the model to train, made with #!model or a C# variable holding a TinyGpt (default '{ModelMagic.DefaultName}').")
            .AddCompletions(() => session.ModelNames());
        var directive = new KernelActionDirective(Name)
        {
            Description = "Trains a model on the Moby-Dick training split (next-byte prediction) with a live loss chart; " +
                          "interrupt the cell to stop between two steps (the model keeps the weights it reached). " +
                          "The run is kept as a C# variable (--run, default 'run').",
            Parameters =
            {
                model,
                new KernelDirectiveParameter("--steps", $"Optimizer steps (default {d.Steps})."),
                new KernelDirectiveParameter("--lr", $"Peak learning rate of AdamW, reached after the warmup, then cosine decay (default {d.LearningRate})."),
                new KernelDirectiveParameter("--batch", $"Sequences per step (default {d.BatchSize})."),
                new KernelDirectiveParameter("--block", $"Tokens per sequence, at most the model's context (default {d.BlockSize}, or the context if smaller)."),
                new KernelDirectiveParameter("--warmup", $"Steps of linear learning-rate warmup (default {d.WarmupSteps}, at most a tenth of --steps)."),
                new KernelDirectiveParameter("--eval-every", $"Validation loss every this many steps and at the end; 0 = only at the end (default {d.EvalEvery})."),
                new KernelDirectiveParameter("--seed", $"Seed of the batch sampler (default {d.Seed}); the same seed gives the same batches."),
                new KernelDirectiveParameter("--run", $"Variable name for the TrainingRun in C# cells (default '{DefaultRunName}')."),
            },
        };
        kernel.AddDirective<TrainCommand>(directive, (command, context) =>
            MagicRunner.RunAsync(command, context, () => RunAsync(command, context, session)));
    }

    static async Task RunAsync(TrainCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var modelName = (c.Model ?? ModelMagic.DefaultName).Trim();
        var runName = OptionValues.VariableName(c.Run, "--run", DefaultRunName);
        if (!session.TryFindModel(modelName, out var model))
        {
            var known = session.ModelNames();
            throw new MagicException($"No model named '{modelName}'. Create it first with #!model --name {modelName} (or #!model --name {modelName} --pretrained)" +
                                     (known.Count > 0 ? $", or train one of: {string.Join(", ", known)}." : "."));
        }
        var options = Options(c, model);
        var corpus = MobyDickCorpus.Get();
        await session.TrainingGate.WaitAsync(context.CancellationToken);
        try
        {
            // The record exists and is a C# variable before the first step, while this cell still owns the kernel:
            // an interrupt ends the cell at once, and nothing may compile in the C# kernel after the next cell starts.
            var run = LanguageModelTraining.NewRun(model, corpus, options, modelName);
            session.LastRun = run;
            await session.ShareAsync(runName, run, typeof(TrainingRun));
            LiveView.Follow(run, context);
            // Off the kernel's thread, so an interrupt is seen while the steps run; the trainer checks the token between steps.
            await Task.Run(() => LanguageModelTraining.Train(model, corpus, run, cancellation: context.CancellationToken));
        }
        finally
        {
            session.TrainingGate.Release();
        }
    }

    static TrainingOptions Options(TrainCommand c, TinyGpt model)
    {
        var d = new TrainingOptions();
        int context = model.Config.ContextLength;
        int steps = OptionValues.Int(c.Steps, "--steps", d.Steps);
        int block = OptionValues.Int(c.Block, "--block", Math.Min(d.BlockSize, context));
        if (block > context)
            throw new MagicException($"--block {block} is longer than the model's context of {context} tokens. Use --block {context} or less, " +
                                     $"or create a model with a longer context (#!model --context {block}).");
        return new TrainingOptions
        {
            Steps = steps,
            LearningRate = OptionValues.PositiveDouble(c.Lr, "--lr", d.LearningRate),
            BatchSize = OptionValues.Int(c.Batch, "--batch", d.BatchSize),
            BlockSize = block,
            WarmupSteps = OptionValues.Int(c.Warmup, "--warmup", Math.Min(d.WarmupSteps, steps / 10), min: 0),
            EvalEvery = OptionValues.Int(c.EvalEvery, "--eval-every", d.EvalEvery, min: 0),
            Seed = OptionValues.Long(c.Seed, "--seed", d.Seed),
        }.Validate();
    }
}
