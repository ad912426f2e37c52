using EfficientML.Cloning;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!race</c>: the two models, the variable name, and the training options of <c>#!train</c>.</summary>
public sealed class RaceCommand : TrainingOptionsCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => RaceMagic.ToCSharp(this);

    /// <summary>Name of the model that starts from somewhere (a clone).</summary>
    public OptionText? Challenger { get; set; }
    /// <summary>Name of the model it is timed against.</summary>
    public OptionText? Baseline { get; set; }
    /// <summary>Variable name of the race result.</summary>
    public OptionText? Race { get; set; }
}

/// <summary>
/// <c>#!race</c>: trains two models of the same shape side by side with the same batches and schedule, in one live chart,
/// and shows how many steps each needed to reach the baseline's final validation loss.
/// C#: <c>TrainingRace.Run(challenger, baseline, TextCorpus.MobyDick(), options, "clone", "random init")</c>.
/// </summary>
static class RaceMagic
{
    /// <summary>
    /// C# equivalent: <c>TrainingRace.NewRace</c> (options shortened by <c>QuickMode.Apply</c> when <c>quick</c>),
    /// <c>LiveView.Follow(race)</c>, <c>TrainingRace.Run</c>, and the divergence checks.
    /// </summary>
    internal static string ToCSharp(RaceCommand c)
    {
        if (c.Challenger is null || c.Baseline is null)
            throw new MagicException("#!race needs both --challenger NAME and --baseline NAME, e.g. #!race --challenger model_x2 --baseline fresh.");
        var race = OptionValues.VariableName(c.Race, "--race", DefaultRaceName);
        var challenger = OptionValues.VariableName(c.Challenger, "--challenger", "challenger");
        var baseline = OptionValues.VariableName(c.Baseline, "--baseline", "baseline");
        if (challenger == baseline) throw new MagicException($"--challenger and --baseline are the same model ('{challenger}'): a race needs two.");
        var asked = TrainingOptionParameters.Read(c, int.MaxValue);
        return $"var {race} = TrainingRace.NewRace({challenger}, {baseline}, MobyDickCorpus.Get(), {CSharpSource.QuickTraining(Name, asked, "QuickMode.Training")}, " +
               $"{CSharpSource.String(challenger)}, {CSharpSource.String(baseline)});\n" +
               $"LiveView.Follow({race});\n" +
               $"TrainingRace.Run({challenger}, {baseline}, MobyDickCorpus.Get(), {race});\n" +
               $"{race}.Challenger.ThrowIfDiverged();\n{race}.Baseline.ThrowIfDiverged();";
    }

    public const string Name = "#!race";
    public const string DefaultRaceName = "race";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var directive = new KernelActionDirective(Name)
        {
            Description = "Trains two models of the same shape side by side on the Moby-Dick training split (same batches, same schedule, " +
                          "validation loss at step 0 too) with one live chart, then shows how many steps each needed to reach the baseline's " +
                          "final validation loss. Interrupt the cell to stop both between two steps. The result is kept as a C# variable " +
                          "(--race, default 'race'). C#: TrainingRace.Run(challenger, baseline, TextCorpus.MobyDick(), options, \"clone\", \"random init\").",
        };
        directive.Parameters.Add(ModelMagic.Option(session, "--challenger",
            "Name of the model that starts from somewhere, e.g. a clone made with #!hyperclone or #!subclone (required; no default)."));
        directive.Parameters.Add(ModelMagic.Option(session, "--baseline",
            "Name of the model it is timed against, e.g. a fresh #!model of the same shape (required; no default)."));
        foreach (var parameter in TrainingOptionParameters.Create()) directive.Parameters.Add(parameter);
        directive.Parameters.Add(new KernelDirectiveParameter("--race", $"Variable name for the RaceResult in C# cells (default '{DefaultRaceName}')."));
        magics.Add<RaceCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    static async Task RunAsync(RaceCommand c, KernelInvocationContext context, NotebookSession session)
    {
        if (c.Challenger is null || c.Baseline is null)
            throw new MagicException("#!race needs both --challenger NAME and --baseline NAME, e.g. #!race --challenger model_x2 --baseline fresh.");
        var raceName = session.ResultName(c.Race, "--race", DefaultRaceName);
        var (challengerName, baselineName) = (c.Challenger.Trim(), c.Baseline.Trim());
        var challenger = ModelMagic.Find(session, challengerName, "race");
        var baseline = ModelMagic.Find(session, baselineName, "race");
        if (ReferenceEquals(challenger, baseline))
            throw new MagicException($"--challenger and --baseline are the same model ('{challengerName}'): a race needs two. " +
                                     $"Make a second one of the same shape, e.g. #!model --name fresh with the same sizes.");
        var options = QuickMode.Apply(session, context, Name, TrainingOptionParameters.Read(c, challenger.Config.ContextLength), QuickMode.Training);
        var corpus = MobyDickCorpus.Get();
        await session.TrainingGate.WaitAsync(context.CancellationToken);
        try
        {
            // Models of different shapes get the library's message here, before anything is shown.
            var race = TrainingRace.NewRace(challenger, baseline, corpus, options, challengerName, baselineName);
            session.LastRace = race;
            // A C# variable before the first step, while this cell still owns the kernel (as #!train does).
            await session.ShareAsync(raceName, race, typeof(RaceResult));
            var display = LiveView.Follow(race, context);
            // Off the kernel's thread, so an interrupt is seen while the steps run; each trainer checks the token between steps.
            await Task.Run(() => TrainingRace.Run(challenger, baseline, corpus, race, cancellation: context.CancellationToken));
            race.Challenger.ThrowIfDiverged();
            race.Baseline.ThrowIfDiverged();
            // The live chart makes way for the result: the mark, the steps each needed, the speed-up.
            if (!context.CancellationToken.IsCancellationRequested) display.Show(race, force: true);
        }
        finally
        {
            session.TrainingGate.Release();
        }
    }
}
