using EfficientML.GatedConformer;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!gated</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class GatedCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => GatedMagic.ToCSharp(this);

    /// <summary>Training steps per model.</summary>
    public OptionText? Steps { get; set; }
    /// <summary>Share of modules allowed to run on average.</summary>
    public OptionText? CostTarget { get; set; }
    /// <summary>Weight of the steady pull on the run share, below the target too.</summary>
    public OptionText? CostPull { get; set; }
    /// <summary>Scale of the pull on gate blocks where a word sounds.</summary>
    public OptionText? SpeechPull { get; set; }
    /// <summary>Weight of learning from the ungated model.</summary>
    public OptionText? Distill { get; set; }
    /// <summary>Weight of the penalty on the gates' squared logits.</summary>
    public OptionText? GateDecay { get; set; }
    /// <summary>Earlier gate blocks each gate reads.</summary>
    public OptionText? GateContext { get; set; }
    /// <summary>Weight of the compute cost in the loss.</summary>
    public OptionText? CostWeight { get; set; }
    /// <summary>Training recordings with speech.</summary>
    public OptionText? Streams { get; set; }
    /// <summary>Seed of the recordings and the training.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>Name of the gated model.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Name of the ungated model.</summary>
    public OptionText? Baseline { get; set; }
    /// <summary>Variable name of the report.</summary>
    public OptionText? Report { get; set; }
}

/// <summary>
/// <c>#!gated</c>: builds the streaming recordings, trains the conformer spotter without gates and the same one with a gate
/// before every module (same recordings, starting weights and budget) with one live chart, and shows the comparison.
/// C#: <c>GatedExperiment.Run(new GatedExperimentOptions { ... })</c>.
/// </summary>
static class GatedMagic
{
    public const string Name = "#!gated";
    public const string DefaultModel = "gated", DefaultBaseline = "conformer", DefaultReport = "gatedReport";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var d = new GatedExperimentOptions();
        var directive = new KernelActionDirective(Name)
        {
            Description = "Trains two streaming conformer keyword spotters on the same long recordings (words by espeak-ng voices at known times in " +
                          "recorded noise, plus noise-only and near-silent recordings): one plain, one with a gate before every module that learns " +
                          "to skip it, from the same starting weights and with the same budget, in one live chart. Then runs both as streams over " +
                          "recordings by unseen voices and compares modules skipped, accuracy, detections and time per second of audio. Keeps the " +
                          $"models (--model, default '{DefaultModel}'; --baseline, default '{DefaultBaseline}') and the GatedReport (--report, default " +
                          $"'{DefaultReport}'). C#: GatedExperiment.Run(new GatedExperimentOptions {{ ... }}).",
        };
        directive.Parameters.Add(new KernelDirectiveParameter("--steps", $"Training steps per model, 1 to 100000 (default {d.Training.Training.Steps})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--cost-target",
            $"Share of modules allowed to run on average, 0 to 1 (default {d.Training.CostTarget}); lower skips more."));
        directive.Parameters.Add(new KernelDirectiveParameter("--cost-pull",
            $"Weight of a steady pull on the share of modules run, below the target too, 0 to 10 (default {d.Training.CostPull}); higher closes more gates on noise."));
        directive.Parameters.Add(new KernelDirectiveParameter("--speech-pull",
            $"Scale of that pull where a word sounds in the training recordings, against 1 on noise, -10 to 10 (default {d.Training.SpeechPullScale}); " +
            "below 1 leaves words their modules, below 0 rewards running them there. The gates still hear only the audio."));
        directive.Parameters.Add(new KernelDirectiveParameter("--distill",
            $"Weight of learning from the ungated model (trained first, on the same recordings) beside the labels, 0 to 1 (default {d.Training.DistillWeight}); " +
            "0 trains the gated model on the labels alone."));
        directive.Parameters.Add(new KernelDirectiveParameter("--gate-decay",
            $"Weight of a penalty on the gates' squared logits, 0 to 10 (default {d.Training.GateLogitDecay}): it keeps every gate unsure enough for " +
            "the cost to move it, so no module stays on for everything, noise included; 0 turns it off."));
        directive.Parameters.Add(new KernelDirectiveParameter("--gate-context",
            $"Earlier gate blocks of {d.Model.GateSteps * d.Model.StackFrames * 10} ms each gate reads besides its own, 0 to 8 (default {d.Model.GateContext}), " +
            "so it can tell a word's onset from noise that has gone on for a while."));
        directive.Parameters.Add(new KernelDirectiveParameter("--cost-weight", $"Weight of the compute cost in the loss, 0 to 100 (default {d.Training.CostWeight})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--streams",
            $"Training recordings with speech, of {d.Data.StreamSeconds:0} s each, 1 to 200 (default {d.Data.TrainStreams})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--seed", "Seed of the recordings and the training (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--model", $"Name for the gated model (default '{DefaultModel}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--baseline", $"Name for the ungated model (default '{DefaultBaseline}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--report", $"Variable name for the GatedReport in C# cells (default '{DefaultReport}')."));
        magics.Add<GatedCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>The experiment the command asks for (before quick mode).</summary>
    public static GatedExperimentOptions Options(GatedCommand c)
    {
        var options = new GatedExperimentOptions();
        int seed = OptionValues.Int(c.Seed, "--seed", 0, min: 0, max: 1_000_000);
        var training = options.Training with
        {
            Training = options.Training.Training with
            {
                Steps = OptionValues.Int(c.Steps, "--steps", options.Training.Training.Steps, min: 1, max: 100_000),
                Seed = seed + 1,
            },
            CostTarget = OptionValues.Double(c.CostTarget, "--cost-target", options.Training.CostTarget, min: 0, max: 1,
                why: "it is the share of modules allowed to run"),
            CostPull = OptionValues.Double(c.CostPull, "--cost-pull", options.Training.CostPull, min: 0, max: 10),
            CostWeight = OptionValues.Double(c.CostWeight, "--cost-weight", options.Training.CostWeight, min: 0, max: 100),
            SpeechPullScale = OptionValues.Double(c.SpeechPull, "--speech-pull", options.Training.SpeechPullScale, min: -10, max: 10),
            DistillWeight = OptionValues.Double(c.Distill, "--distill", options.Training.DistillWeight, min: 0, max: 1),
            GateLogitDecay = OptionValues.Double(c.GateDecay, "--gate-decay", options.Training.GateLogitDecay, min: 0, max: 10),
        };
        var model = options.Model with { GateContext = OptionValues.Int(c.GateContext, "--gate-context", options.Model.GateContext, min: 0, max: 8) };
        var data = options.Data with { TrainStreams = OptionValues.Int(c.Streams, "--streams", options.Data.TrainStreams, min: 1, max: 200), Seed = seed };
        return (options with { Model = model, Training = training, Data = data }).Validate();
    }

    /// <summary>
    /// C# equivalent: the options (shortened by <c>Quick()</c> when <c>quick</c>), two training records followed live, then
    /// <c>GatedExperiment.Run</c>; the models are the report's.
    /// </summary>
    internal static string ToCSharp(GatedCommand c)
    {
        var o = Options(c);
        var model = OptionValues.VariableName(c.Model, "--model", DefaultModel);
        var baseline = OptionValues.VariableName(c.Baseline, "--baseline", DefaultBaseline);
        var report = OptionValues.VariableName(c.Report, "--report", DefaultReport);
        if (model == baseline || model == report || baseline == report) throw new MagicException("--model, --baseline and --report need three different names.");
        var options = $"{report}Options";
        return $"var {options} = new GatedExperimentOptions();\n" +
               $"{options} = {options} with\n{{\n" +
               $"    Model = {options}.Model with {{ GateContext = {o.Model.GateContext} }},\n" +
               $"    Training = {options}.Training with {{ CostTarget = {CSharpSource.Literal(o.Training.CostTarget)}, CostPull = {CSharpSource.Literal(o.Training.CostPull)}, " +
               $"SpeechPullScale = {CSharpSource.Literal(o.Training.SpeechPullScale)}, DistillWeight = {CSharpSource.Literal(o.Training.DistillWeight)}, " +
               $"GateLogitDecay = {CSharpSource.Literal(o.Training.GateLogitDecay)}, CostWeight = {CSharpSource.Literal(o.Training.CostWeight)}, " +
               $"Training = {options}.Training.Training with {{ Steps = {o.Training.Training.Steps}, Seed = {o.Training.Training.Seed} }} }},\n" +
               $"    Data = {options}.Data with {{ TrainStreams = {o.Data.TrainStreams}, Seed = {o.Data.Seed} }},\n}};\n" +
               $"if (quick) {options} = {options}.Quick();\n" +
               $"var {report}Runs = LiveView.Follow(new[] {{ GatedTraining.NewRun(\"conformer\", {options}.Training), GatedTraining.NewRun(\"gated conformer\", {options}.Training) }});\n" +
               $"var {report} = GatedExperiment.Run({options}, ungatedRun: {report}Runs[0], gatedRun: {report}Runs[1]);\n" +
               $"var {model} = {report}.GatedModel;\nvar {baseline} = {report}.UngatedModel;\ndisplay({report});";
    }

    static async Task RunAsync(GatedCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var options = Options(c);
        var modelName = session.ResultName(c.Model, "--model", DefaultModel);
        var baselineName = session.ResultName(c.Baseline, "--baseline", DefaultBaseline);
        var reportName = session.ResultName(c.Report, "--report", DefaultReport);
        if (modelName == baselineName || modelName == reportName || baselineName == reportName)
            throw new MagicException("--model, --baseline and --report need three different names.");
        if (session.Quick)
        {
            var quick = options.Quick();
            QuickMode.Announce(context, Name, QuickMode.Changes(options.Training.Training, quick.Training.Training)
                .Append($"{options.Data.TrainStreams} → {quick.Data.TrainStreams} training recordings of {quick.Data.StreamSeconds:0} s").ToList());
            options = quick;
        }
        await session.TrainingGate.WaitAsync(context.CancellationToken);
        try
        {
            var ungatedRun = GatedTraining.NewRun(DefaultBaseline, options.Training);
            var gatedRun = GatedTraining.NewRun("gated conformer", options.Training);
            LiveView.Follow([ungatedRun, gatedRun], "Training: conformer, then gated conformer (classification + bounds + compute cost)", context);
            GatedReport report;
            try
            {
                report = await Task.Run(() => GatedExperiment.Run(options, null, null, context.CancellationToken, ungatedRun, gatedRun));
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested) { return; }
            session.Models.Set(modelName, report.GatedModel);
            session.Models.Set(baselineName, report.UngatedModel);
            await session.ShareAsync(modelName, report.GatedModel, typeof(ConformerSpotter));
            await session.ShareAsync(baselineName, report.UngatedModel, typeof(ConformerSpotter));
            await session.ShareAsync(reportName, report, typeof(GatedReport));
            context.Display(report, HtmlFormatter.MimeType);
        }
        finally
        {
            session.TrainingGate.Release();
        }
    }
}
