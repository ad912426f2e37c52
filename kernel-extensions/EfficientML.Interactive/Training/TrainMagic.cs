using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!train</c>, bound by name (<c>--eval-every</c> → <see cref="TrainingOptionsCommand.EvalEvery"/>); numbers arrive as text and are checked here.</summary>
public sealed class TrainCommand : TrainingOptionsCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => TrainMagic.ToCSharp(this);

    /// <summary>Name of the model to train.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Variable name of the training run.</summary>
    public OptionText? Run { get; set; }
}

/// <summary>
/// <c>#!train</c>: trains a named model on Moby-Dick with a live loss chart (shown once, then updated in place,
/// a few times a second at most), honours the kernel's interrupt between steps, and shares the run with C#.
/// C#: <c>LanguageModelTraining.Train(model, TextCorpus.MobyDick(), options)</c>.
/// </summary>
static class TrainMagic
{
    /// <summary>
    /// C# equivalent: the run's record (<c>LanguageModelTraining.NewRun</c>, options shortened by <c>QuickMode.Apply</c> when
    /// <c>quick</c>), <c>LiveView.Follow(run)</c>, <c>LanguageModelTraining.Train</c>, and the divergence check.
    /// </summary>
    internal static string ToCSharp(TrainCommand c)
    {
        var model = OptionValues.VariableName(c.Model, "--model", ModelMagic.DefaultName);
        var run = OptionValues.VariableName(c.Run, "--run", DefaultRunName);
        var asked = TrainingOptionParameters.Read(c, int.MaxValue);
        return $"var {run} = LanguageModelTraining.NewRun({model}, MobyDickCorpus.Get(), {CSharpSource.QuickTraining(Name, asked, "QuickMode.Training")}, {CSharpSource.String(model)});\n" +
               $"LiveView.Follow({run});\n" +
               $"LanguageModelTraining.Train({model}, MobyDickCorpus.Get(), {run});\n" +
               $"{run}.ThrowIfDiverged();";
    }

    public const string Name = "#!train";
    public const string DefaultRunName = "run";

    /// <summary>Least time between two redraws of the live chart.</summary>
    public static TimeSpan UpdateInterval => LiveView.UpdateInterval;

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var model = ModelMagic.Option(session, "--model", $"Name of the model to train, made with #!model or a C# variable holding a TinyGpt (default '{ModelMagic.DefaultName}').");
        var directive = new KernelActionDirective(Name)
        {
            Description = "Trains a model on the Moby-Dick training split (next-byte prediction) with a live loss chart; " +
                          "interrupt the cell to stop between two steps (the model keeps the weights it reached). " +
                          "The run is kept as a C# variable (--run, default 'run'). " +
                          "C#: LanguageModelTraining.Train(model, TextCorpus.MobyDick(), new TrainingOptions { Steps = 200 }).",
        };
        directive.Parameters.Add(model);
        foreach (var parameter in TrainingOptionParameters.Create()) directive.Parameters.Add(parameter);
        directive.Parameters.Add(new KernelDirectiveParameter("--run", $"Variable name for the TrainingRun in C# cells (default '{DefaultRunName}')."));
        magics.Add<TrainCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    static async Task RunAsync(TrainCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var modelName = (c.Model ?? ModelMagic.DefaultName).Trim();
        var runName = session.ResultName(c.Run, "--run", DefaultRunName);
        var model = ModelMagic.Find(session, modelName, "train");
        var options = QuickMode.Apply(session, context, Name, TrainingOptionParameters.Read(c, model.Config.ContextLength), QuickMode.Training);
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
            run.ThrowIfDiverged(); // the chart stays, marked diverged; the cell fails with what to do
        }
        finally
        {
            session.TrainingGate.Release();
        }
    }
}
