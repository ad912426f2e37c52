using System.Globalization;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Text;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>
/// Options of <c>#!route</c>, bound by name (<c>--router-hidden</c> → <see cref="RouterHidden"/>), plus the training
/// options of <c>#!train</c>; numbers arrive as text and are checked here.
/// </summary>
public sealed class RouteCommand : TrainingOptionsCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => RouteMagic.ToCSharp(this);

    /// <summary>Name of the model to convert.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Expert sizes as fractions of the MLP width, comma-separated.</summary>
    public OptionText? Experts { get; set; }
    /// <summary>Difficulty-label tolerance in nats.</summary>
    public OptionText? Tolerance { get; set; }
    /// <summary>Hidden width of each router (0 = linear).</summary>
    public OptionText? RouterHidden { get; set; }
    /// <summary>Sensitivity shown on the text (and at which fine-tuning is evaluated).</summary>
    public OptionText? Theta { get; set; }
    /// <summary>Sensitivities of the sweep, comma-separated.</summary>
    public OptionText? Thetas { get; set; }
    /// <summary>Text coloured by the experts its characters use.</summary>
    public OptionText? Text { get; set; }
    /// <summary>Also fine-tune and measure the elastic (static-width) baseline.</summary>
    public bool Baseline { get; set; }
    /// <summary>Variable name of the routed model.</summary>
    public OptionText? Name { get; set; }
    /// <summary>Variable name of the study.</summary>
    public OptionText? Result { get; set; }
}

/// <summary>
/// <c>#!route</c>: turns a copy of a named model into a DynaMoE model (each MLP's neurons sorted into nested experts, a small
/// router per layer), fine-tunes routers and experts with a live loss chart, measures validation loss against MLP compute
/// for a sweep of sensitivities θ and for every static width of the same weights (and, with <c>--baseline</c>, of an elastic
/// baseline fine-tuned alike), shows the study, and colours a text by the experts its characters use. C#:
/// <c>RoutingFineTuning.FineTune(RoutedGpt.FromDense(model, calibration, options), corpus, options, training)</c>, then
/// <c>RoutingEvaluation.Sweep(routed, corpus)</c>.
/// </summary>
static class RouteMagic
{
    /// <summary>
    /// C# equivalent: the dense model converted (<c>RoutedGpt.FromDense</c> on calibration windows), fine-tuned and measured
    /// at each θ by <c>RoutingExperiments.Measure</c> with the run followed, then the study. <c>--text</c> only chooses the
    /// magic's coloured passage and is refused in a script.
    /// </summary>
    internal static string ToCSharp(RouteCommand c)
    {
        CSharpSource.Refuse(Name, ("--text", c.Text != null));
        var model = OptionValues.VariableName(c.Model, "--model", ModelMagic.DefaultName);
        var defaults = new RoutingOptions();
        var fractions = OptionValues.Numbers(c.Experts, "--experts", "0.25,0.5,0.75,1", min: 0, max: 1) ?? ExpertSizes.DefaultFractions;
        var options = new RoutingOptions
        {
            ExpertFractions = fractions,
            Tolerance = Tolerance(c.Tolerance, defaults.Tolerance),
            RouterHidden = OptionValues.Int(c.RouterHidden, "--router-hidden", defaults.RouterHidden, min: 0, max: RoutingOptions.MaxRouterHidden),
            EvalTheta = OptionValues.Double(c.Theta, "--theta", defaults.EvalTheta, min: 0, max: 1),
        }.Validate();
        var thetas = (OptionValues.Numbers(c.Thetas, "--thetas", "0,0.25,0.5,0.75,1", min: 0, max: 1) ?? RoutingEvaluation.DefaultThetas).Distinct().Order().ToList();
        var name = OptionValues.VariableName(c.Name, "--name", $"{model}_routed");
        var result = OptionValues.VariableName(c.Result, "--result", DefaultResultName);
        if (name == model || name == result) throw new MagicException("--name must differ from --model and from --result.");
        var asked = TrainingOptionParameters.Read(c, int.MaxValue, FineTuningDefaults) with { EvalAtStart = true };
        var theta = CSharpSource.Literal(options.EvalTheta);
        var baseline = c.Baseline
            ? $"() => RoutedGpt.FromDense({model}, {name}Calibration, {name}Options, {name}Training.Seed)"
            : "null";
        return $"var {name}Options = {CSharpSource.Initializer(options)};\n" +
               $"var {name}Training = {CSharpSource.QuickTraining(Name, asked, "RoutingExperiments.FineTuning(quick: true)")};\n" +
               $"RoutedGpt {name};\nRoutingStudy {result};\n" +
               $"using (var {name}Calibration = RoutingExperiments.Calibration(MobyDickCorpus.Get(), quick, {name}Training.Seed))\n{{\n" +
               $"    {name} = RoutedGpt.FromDense({model}, {name}Calibration, {name}Options, {name}Training.Seed);\n" +
               $"    var {name}Run = LiveView.Follow(RoutingFineTuning.NewRun({name}, MobyDickCorpus.Get(), {name}Training, $\"DynaMoE routers + experts (validation at θ = {theta})\"));\n" +
               $"    {result} = RoutingExperiments.Measure({name}, MobyDickCorpus.Get(), {name}Options, {name}Training, {CSharpSource.Literal(thetas)}, " +
               $"RoutingExperiments.EvalBatches(quick), routerFitBatches: quick ? 1 : 4, baseline: {baseline}, run: {name}Run)!;\n}}\n" +
               $"display({result});";
    }

    public const string Name = "#!route";
    public const string DefaultResultName = "routing";

    /// <summary>Characters of the default text (the start of the validation split, cut at a space).</summary>
    public const int DefaultTextLength = 400;

    /// <summary>Longest --text: every character becomes one element of the output.</summary>
    public const int MaxTextLength = 2000;

    /// <summary>Calibration windows that rank the MLP neurons (of the model's context length, from the training split).</summary>
    public const int CalibrationSequences = 16;

    /// <summary>Calibration windows in quick mode.</summary>
    public const int QuickCalibrationSequences = 4;

    /// <summary>Fine-tuning starts from trained weights: fewer steps, a gentler rate and a short warmup than <c>#!train</c>.</summary>
    public static TrainingOptions FineTuningDefaults { get; } = RoutingExperiments.FineTuning(quick: false) with { EvalEvery = 25 };

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var d = new RoutingOptions();
        var directive = new KernelActionDirective(Name)
        {
            Description = "Token-difficulty routing (DynaMoE): converts a copy of a model so that each MLP holds nested experts (its neurons " +
                          "sorted by importance; expert j is the first --experts share of them) with a small router per layer that picks " +
                          "each token's expert. Fine-tunes routers and experts (the routers learn each token's difficulty label: the smallest " +
                          "expert within --tolerance of the full model's loss) with a live loss chart; then measures validation loss against " +
                          "MLP compute for each sensitivity θ in --thetas and for every static width of the same weights (with --baseline also " +
                          "for an elastic, Flextron-style baseline fine-tuned alike), shows the study, and colours --text by the expert each " +
                          "character uses at --theta. Keeps the routed model (--name, default '<model>_routed') and the RoutingStudy (--result, " +
                          "default 'routing') as C# variables; the original model is not changed. Interrupt the cell to stop between two steps. " +
                          "C#: RoutingFineTuning.FineTune(RoutedGpt.FromDense(model, calibration, options), corpus, options, training), " +
                          "then RoutingEvaluation.Sweep(routed, corpus).",
        };
        directive.Parameters.Add(ModelMagic.Option(session, "--model",
            $"Name of the model to convert, made with #!model or a C# variable holding a TinyGpt; it is copied, never changed (default '{ModelMagic.DefaultName}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--experts",
            $"Nested expert sizes as fractions of the MLP width, comma-separated, smallest first, ending with 1; each must be a whole number " +
            $"of neurons (default {Fractions(ExpertSizes.DefaultFractions)})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--tolerance",
            $"Difficulty-label tolerance in nats: a token's label is the smallest expert whose next-token loss is at most this much above " +
            $"the full model's; larger sends more tokens to small experts (default {Invariant(d.Tolerance)})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--router-hidden",
            $"Hidden width of each layer's router; 0 makes it a single linear map (default {d.RouterHidden})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--theta",
            $"Sensitivity θ from 0 to 1 at which the text is coloured and the fine-tuning is evaluated: 0 sends every token to the smallest " +
            $"expert, 1 to the full MLP (the dense model) (default {Invariant(d.EvalTheta)})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--thetas",
            $"Sensitivities of the sweep, comma-separated, each from 0 to 1 (default {Fractions(RoutingEvaluation.DefaultThetas)})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--text",
            $"Text coloured by the expert each character uses, in quotes, at most {MaxTextLength} characters " +
            $"(default: the first ~{DefaultTextLength} characters of the Moby-Dick validation split)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--baseline",
            "Also fine-tune another copy as the elastic (Flextron-style) static-width baseline with the same training options, " +
            "and draw its widths in the chart (default: off).") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--name",
            "Variable name for the RoutedGpt in C# cells (default '<model>_routed', e.g. model_routed)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--result",
            $"Variable name for the RoutingStudy (runs, every variant's loss and compute) in C# cells (default '{DefaultResultName}')."));
        foreach (var parameter in TrainingOptionParameters.Create(FineTuningDefaults)) directive.Parameters.Add(parameter);
        magics.Add<RouteCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>What one run of the magic measured and made.</summary>
    sealed record Outcome(RoutingStudy Study, string TextHtml);

    static async Task RunAsync(RouteCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var modelName = (c.Model ?? ModelMagic.DefaultName).Trim();
        var defaults = new RoutingOptions();
        var fractions = OptionValues.Numbers(c.Experts, "--experts", "0.25,0.5,0.75,1", min: 0, max: 1) ?? ExpertSizes.DefaultFractions;
        double tolerance = Tolerance(c.Tolerance, defaults.Tolerance);
        int routerHidden = OptionValues.Int(c.RouterHidden, "--router-hidden", defaults.RouterHidden, min: 0, max: RoutingOptions.MaxRouterHidden,
            why: "0 makes each router one linear map; a router is a small network beside its layer");
        // θ = 0 sends every token to the smallest expert, θ = 1 to the full MLP (the dense model).
        const string ThetaWhy = "θ = 0 sends every token to the smallest expert, θ = 1 to the full MLP (the dense model)";
        double theta = OptionValues.Double(c.Theta, "--theta", defaults.EvalTheta, min: 0, max: 1, why: ThetaWhy);
        var thetas = (OptionValues.Numbers(c.Thetas, "--thetas", "0,0.25,0.5,0.75,1", min: 0, max: 1) ?? RoutingEvaluation.DefaultThetas)
            .Distinct().Order().ToList();
        var name = session.ResultName(c.Name, "--name", $"{modelName}_routed");
        var resultName = session.ResultName(c.Result, "--result", DefaultResultName);
        if (name == modelName)
            throw new MagicException($"--name {name} is the model being converted; the routed copy needs a name of its own, e.g. --name {modelName}_routed.");
        if (name == resultName)
            throw new MagicException($"--name and --result are both '{name}': the routed model and the study need different variable names, e.g. --result {DefaultResultName}.");
        var text = Text(c.Text);
        var model = ModelMagic.Find(session, modelName, "route");
        var options = Options(fractions, c.Experts, tolerance, routerHidden, theta, model.Config.MlpDim);
        var training = QuickMode.Apply(session, context, Name,
            TrainingOptionParameters.Read(c, model.Config.ContextLength, FineTuningDefaults) with { EvalAtStart = true }, RoutingExperiments.FineTuning(quick: true));
        bool quick = session.Quick;
        var corpus = MobyDickCorpus.Get();
        text ??= DefaultText(corpus);

        RoutedGpt? routed = null;
        bool kept = false;
        // Not while a training step (of an interrupted #!train, #!race, #!cluster or #!route) may still be writing the model's weights.
        await session.TrainingGate.WaitAsync(context.CancellationToken);
        try
        {
            using var calibration = Calibration(corpus, model, training.Seed, quick ? QuickCalibrationSequences : CalibrationSequences);
            routed = await Task.Run(() => RoutedGpt.FromDense(model, calibration, options, training.Seed));
            var run = RoutingFineTuning.NewRun(routed, corpus, training, $"DynaMoE routers + experts (validation at θ = {Invariant(theta)})");
            var elasticRun = c.Baseline
                ? RoutingFineTuning.NewElasticRun(routed, corpus, training, "elastic baseline (validation: mean over widths)")
                : null;
            session.LastRun = run;
            var runs = elasticRun is null ? new[] { run } : new[] { run, elasticRun };
            var view = new RouteView(runs, $"Fine-tuning {modelName} into nested experts ({routed.Sizes})");
            var display = new ThrottledDisplay(context, LiveView.UpdateInterval);
            display.Show(view);
            foreach (var r in runs) r.Updated += x => display.Show(view, force: x.Outcome != TrainingOutcome.Running);
            void Stage(string stage, bool force = false)
            {
                view.Stage = stage;
                display.Show(view, force);
            }
            var measured = routed;
            // Off the kernel's thread, so an interrupt is seen while the steps run; the trainer checks the token between steps.
            int routerFitBatches = quick ? 1 : 4;
            var outcome = await Task.Run(() => Measure(measured, model, calibration, corpus, options, training, thetas, text, routerFitBatches, run, elasticRun, Stage, context.CancellationToken));
            // Interrupted: the cell has ended, so nothing more is shown or shared, and the half-trained copy is dropped.
            if (outcome is null || context.CancellationToken.IsCancellationRequested) return;
            if (!RoutingCharts.AnyFinite(outcome.Study.Routed.Concat(outcome.Study.Static)))
                throw new MagicException("The fine-tuned model's validation loss is NaN or infinite at every θ and width: the fine-tuning broke it. " +
                                         $"Lower --lr, e.g. --lr {Invariant(FineTuningDefaults.LearningRate / 3)}.");
            kept = true;
            await session.ShareAsync(name, routed, typeof(RoutedGpt));
            await session.ShareAsync(resultName, outcome.Study, typeof(RoutingStudy));
            // The live chart makes way for the study; the text follows as an output of its own.
            display.Show(outcome.Study, force: true);
            context.DisplayAs(outcome.TextHtml, HtmlFormatter.MimeType);
        }
        finally
        {
            if (!kept) routed?.Dispose();
            session.TrainingGate.Release();
        }
    }

    /// <summary>
    /// Everything after the conversion, on a worker thread: the routers' fit, fine-tuning, the baseline, the θ sweep, the
    /// static widths and the text. Null when interrupted.
    /// </summary>
    static Outcome? Measure(
        RoutedGpt routed, TinyGpt dense, Tensor calibration, TextCorpus corpus, RoutingOptions options, TrainingOptions training,
        IReadOnlyList<double> thetas, string text, int routerFitBatches, TrainingRun run, TrainingRun? elasticRun, Action<string, bool> stage,
        CancellationToken cancellation)
    {
        var study = RoutingExperiments.Measure(routed, corpus, options, training, thetas, training.EvalBatches, routerFitBatches,
            elasticRun is null ? null : () => RoutedGpt.FromDense(dense, calibration, options, training.Seed),
            run, elasticRun, trained: Diverged, stage: stage, cancellation: cancellation);
        if (study is null) return null;
        stage("Colouring the text…", true);
        return new Outcome(study, TextHtml(routed, corpus.Tokenizer, text, options));
    }

    /// <summary>The text coloured by its experts at θ, this text's expert usage, and its difficulty labels' shares.</summary>
    static string TextHtml(RoutedGpt routed, ITokenizer tokenizer, string text, RoutingOptions options)
    {
        var tokens = tokenizer.Encode(text);
        var sizes = routed.Sizes;
        using var experts = RoutedText.Experts(routed, tokens, ExpertChoice.AtTheta(options.EvalTheta));     // (L, T)
        var usage = Usage(experts, sizes.Count);
        double active = usage.Average(row => row.Select((share, j) => share * sizes.Fraction(j)).Sum());
        var theta = Invariant(options.EvalTheta);
        var html = new System.Text.StringBuilder($"<div class=\"efml-route-text\" style=\"{Html.BlockStyle}\">");
        html.Append($"<div style=\"margin-bottom:6px\">At θ = {theta} the routers gave this text's tokens <b>{Html.Number(Math.Round(100 * active, 1))}%</b> " +
                    $"of the MLP on average (over {routed.Config.Layers} layer{(routed.Config.Layers == 1 ? "" : "s")}).");
        double[]? shares = null;
        if (tokens.Length > 1)
        {
            using var labels = RoutedText.Labels(routed, tokens, options.Tolerance);
            shares = DifficultyLabels.Shares(labels, sizes.Count);
            double labelled = shares.Select((share, j) => share * sizes.Fraction(j)).Sum();
            html.Append($" Its difficulty labels (the smallest expert within {Invariant(options.Tolerance)} nats of the full model) would give " +
                        $"{Html.Number(Math.Round(100 * labelled, 1))}%.");
        }
        html.Append("</div>");
        html.Append(RoutingCharts.TokenExperts(text, experts, sizes, $"Experts the routers chose at θ = {theta}"));
        html.Append(ChartHtml.Fragment(RoutingCharts.ExpertUsage(usage, sizes, $"Share of this text's tokens on each expert at θ = {theta}")));
        if (shares is not null)
            html.Append(ChartHtml.Fragment(RoutingCharts.LabelShares(shares, sizes, $"This text's difficulty labels (tolerance {Invariant(options.Tolerance)} nats)")));
        return html.Append("</div>").ToString();
    }

    /// <summary>Per layer, the share of tokens on each expert, from experts (L, T).</summary>
    static double[][] Usage(Tensor experts, int count) =>
        Enumerable.Range(0, (int)experts.shape[0]).Select(l => DifficultyLabels.Shares(experts[l], count)).ToArray();

    /// <summary>Sequences of the model's context length from the training split, which rank the MLP neurons.</summary>
    static Tensor Calibration(TextCorpus corpus, TinyGpt model, long seed, int sequences)
    {
        using var generator = Seeding.Generator(seed);
        var (x, y) = corpus.SampleBatch(Split.Train, sequences, model.Config.ContextLength, generator);
        y.Dispose();
        return x;
    }

    static void Diverged(TrainingRun run)
    {
        if (run.Outcome == TrainingOutcome.Diverged)
            throw new MagicException($"{run.Name}: {run.Message} E.g. --lr {Invariant(FineTuningDefaults.LearningRate / 3)}.");
    }

    static RoutingOptions Options(IReadOnlyList<double> fractions, string? text, double tolerance, int routerHidden, double theta, int mlpWidth)
    {
        try
        {
            var options = new RoutingOptions { ExpertFractions = fractions, Tolerance = tolerance, RouterHidden = routerHidden, EvalTheta = theta }.Validate();
            ExpertSizes.FromFractions(mlpWidth, fractions);
            return options;
        }
        catch (InvalidSettingsException e)
        {
            // Tolerance, router width and θ were checked above: what is left is about the expert sizes.
            throw new MagicException($"--experts {text ?? Fractions(fractions)}: {e.Message}");
        }
    }

    static double Tolerance(string? text, double fallback) => OptionValues.Double(text, "--tolerance", fallback, min: 0, max: 10,
        why: "how many nats above the full model's loss a token's expert may be");

    static string? Text(string? text)
    {
        if (text is null) return null;
        if (string.IsNullOrWhiteSpace(text))
            throw new MagicException("--text is empty: give a passage in quotes, e.g. --text \"Call me Ishmael.\", or leave it out for the default.");
        int length = text.EnumerateRunes().Count();
        if (length > MaxTextLength)
            throw new MagicException($"--text has {length:N0} characters; at most {MaxTextLength:N0} are coloured: give a shorter passage.");
        return text;
    }

    /// <summary>The start of the validation split: about <see cref="DefaultTextLength"/> characters, ending at a space or newline.</summary>
    public static string DefaultText(TextCorpus corpus) => corpus.ValidationExcerpt(0, DefaultTextLength);

    static string Fractions(IEnumerable<double> values) => string.Join(",", values.Select(Invariant));

    static string Invariant(double value) => value.ToString("G", CultureInfo.InvariantCulture);
}
