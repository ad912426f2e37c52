using EfficientML.ActiveSpeaker;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!asd-grid</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class AsdGridCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => AsdGridMagic.ToCSharp(this);

    /// <summary>Past contexts P, comma-separated.</summary>
    public OptionText? Past { get; set; }
    /// <summary>Future contexts F, comma-separated.</summary>
    public OptionText? Future { get; set; }
    /// <summary>Training steps of each temporal model.</summary>
    public OptionText? Steps { get; set; }
    /// <summary>Training steps of the shared frame encoder.</summary>
    public OptionText? EncoderSteps { get; set; }
    /// <summary>Training scenes.</summary>
    public OptionText? Scenes { get; set; }
    /// <summary>Seed of the scenes and the trainings.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>Trainings of each temporal model, one per seed.</summary>
    public OptionText? Repeats { get; set; }
    /// <summary>Variable name of the result.</summary>
    public OptionText? Report { get; set; }
}

/// <summary>
/// <c>#!asd-grid</c>: renders the scenes, trains one frame encoder, then a transformer for every (P, F) and a uni-directional
/// GRU on its embeddings in one live chart, and shows mAP over the grid with latency and memory.
/// C#: <c>ContextGrid.Run(SpeakerDataset.Build(…), new ContextGridOptions { … })</c>.
/// </summary>
static class AsdGridMagic
{
    public const string Name = "#!asd-grid";
    public const string DefaultReport = "asdGrid";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var d = new ContextGridOptions();
        var data = new SpeakerDataOptions();
        var directive = new KernelActionDirective(Name)
        {
            Description = "Renders scenes of faces (one speaks in sync with espeak-ng speech, distractors mouth other or shifted sentences, an off-screen voice " +
                          "speaks too; train, validation and test scenes share no voice), trains one frame encoder on single frames, then on its embeddings a " +
                          "transformer for every past context P and future context F, and a uni-directional GRU, each with several seeds, in one live chart. Shows the test mAP over " +
                          "the (P, F) grid against the GRU, and each stream's delay, memory and time per frame. Keeps the ContextGridResult, with every trained " +
                          $"model (--report, default '{DefaultReport}'). C#: ContextGrid.Run(SpeakerDataset.Build(...), new ContextGridOptions {{ ... }}).",
        };
        directive.Parameters.Add(new KernelDirectiveParameter("--past", $"Past contexts P in frames of 40 ms, comma-separated, each 0 to 1000 (default {string.Join(",", d.Pasts)})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--future", $"Future contexts F in frames, comma-separated, each 0 to 1000 (default {string.Join(",", d.Futures)})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--steps", $"Training steps of each temporal model, 1 to 100000 (default {d.Training.Training.Steps})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--encoder-steps", $"Training steps of the shared frame encoder, 1 to 100000 (default {d.EncoderTraining.Training.Steps})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--scenes", $"Training scenes of {data.Scene.Seconds:0} s, 1 to 1000 (default {data.TrainScenes})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--seed", "Seed of the scenes and the trainings (default 1)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--repeats", $"Trainings of each temporal model, each with its own seed, 1 to 10 (default {d.Repeats}); quick mode trains one."));
        directive.Parameters.Add(new KernelDirectiveParameter("--report", $"Variable name for the ContextGridResult in C# cells (default '{DefaultReport}')."));
        magics.Add<AsdGridCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>The grid and data the command asks for (before quick mode).</summary>
    public static (ContextGridOptions Grid, SpeakerDataOptions Data) Options(AsdGridCommand c)
    {
        var grid = new ContextGridOptions();
        int seed = OptionValues.Int(c.Seed, "--seed", 1, min: 0, max: 1_000_000);
        var pasts = OptionValues.WholeNumbers(c.Past, "--past", "0,8,32", 0, 1000, "it is a count of past frames") ?? grid.Pasts;
        var futures = OptionValues.WholeNumbers(c.Future, "--future", "0,4", 0, 1000, "it is a count of future frames") ?? grid.Futures;
        if (pasts.Distinct().Count() != pasts.Count) throw new MagicException($"--past lists a context twice ({string.Join(",", pasts)}): give each once.");
        if (futures.Distinct().Count() != futures.Count) throw new MagicException($"--future lists a context twice ({string.Join(",", futures)}): give each once.");
        grid = grid with
        {
            Pasts = pasts, Futures = futures, Seed = seed, Repeats = OptionValues.Int(c.Repeats, "--repeats", grid.Repeats, min: 1, max: 10),
            Training = grid.Training with { Training = grid.Training.Training with { Steps = OptionValues.Int(c.Steps, "--steps", grid.Training.Training.Steps, min: 1, max: 100_000), Seed = seed } },
            EncoderTraining = grid.EncoderTraining with
            {
                Training = grid.EncoderTraining.Training with { Steps = OptionValues.Int(c.EncoderSteps, "--encoder-steps", grid.EncoderTraining.Training.Steps, min: 1, max: 100_000), Seed = seed },
            },
        };
        var data = new SpeakerDataOptions();
        data = data with { TrainScenes = OptionValues.Int(c.Scenes, "--scenes", data.TrainScenes, min: 1, max: 1000), Seed = seed };
        return (grid.Validate(), data.Validate());
    }

    /// <summary>C# equivalent: the options (shortened by <c>Quick()</c> when <c>quick</c>), the scenes, the records followed live, then <c>ContextGrid.Run</c>.</summary>
    internal static string ToCSharp(AsdGridCommand c)
    {
        var (g, d) = Options(c);
        var report = OptionValues.VariableName(c.Report, "--report", DefaultReport);
        string steps(string what, SpeakerTrainingOptions t) => $"{what} = {report}Options.{what} with {{ Training = {report}Options.{what}.Training with {{ Steps = {t.Training.Steps}, Seed = {t.Training.Seed} }} }}";
        return $"var {report}Options = new ContextGridOptions {{ Pasts = [{string.Join(", ", g.Pasts)}], Futures = [{string.Join(", ", g.Futures)}], Seed = {g.Seed}, Repeats = {g.Repeats} }};\n" +
               $"{report}Options = {report}Options with {{ {steps("Training", g.Training)}, {steps("EncoderTraining", g.EncoderTraining)} }};\n" +
               $"var {report}Data = new SpeakerDataOptions {{ TrainScenes = {d.TrainScenes}, Seed = {d.Seed} }};\n" +
               $"if (quick) ({report}Options, {report}Data) = ({report}Options.Quick(), {report}Data.Quick());\n" +
               $"var {report}Scenes = SpeakerDataset.Build({report}Data);\n" +
               $"var {report}Runs = LiveView.Follow(ContextGrid.NewRuns({report}Options, {report}Scenes), \"Training: the frame encoder, then every (P, F) and the GRU\");\n" +
               $"var {report} = ContextGrid.Run({report}Scenes, {report}Options, {report}Runs);\ndisplay({report});";
    }

    static async Task RunAsync(AsdGridCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var (grid, data) = Options(c);
        var reportName = session.ResultName(c.Report, "--report", DefaultReport);
        if (session.Quick)
        {
            var (quickGrid, quickData) = (grid.Quick(), data.Quick());
            QuickMode.Announce(context, Name, QuickMode.Changes(grid.Training.Training, quickGrid.Training.Training)
                .Append($"{grid.Pasts.Count} × {grid.Futures.Count} → {quickGrid.Pasts.Count} × {quickGrid.Futures.Count} (P, F) points")
                .Append($"{grid.Repeats} → {quickGrid.Repeats} seed{(quickGrid.Repeats == 1 ? "" : "s")} per model")
                .Append($"{data.TrainScenes} → {quickData.TrainScenes} training scenes of {quickData.Scene.Seconds:0} s").ToList());
            (grid, data) = (quickGrid, quickData);
        }
        await session.TrainingGate.WaitAsync(context.CancellationToken);
        try
        {
            using var scenes = await Task.Run(() => SpeakerDataset.Build(data), context.CancellationToken);
            var runs = ContextGrid.NewRuns(grid, scenes);
            LiveView.Follow(runs, "Training: the frame encoder, then every (P, F) and the GRU", context);
            ContextGridResult result;
            try
            {
                result = await Task.Run(() => ContextGrid.Run(scenes, grid, runs, context.CancellationToken));
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested) { return; }
            await session.ShareAsync(reportName, result, typeof(ContextGridResult));
            context.Display(result, HtmlFormatter.MimeType);
        }
        finally
        {
            session.TrainingGate.Release();
        }
    }
}
