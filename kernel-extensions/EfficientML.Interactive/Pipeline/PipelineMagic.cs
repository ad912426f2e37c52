using System.Globalization;
using System.Runtime.CompilerServices;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Pipeline;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!pipeline</c>, bound by name (<c>--train-steps</c> → <see cref="TrainSteps"/>); numbers arrive as text and are checked here.</summary>
public sealed class PipelineCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => PipelineMagic.ToCSharp(this);

    /// <summary>Name of the model to start from (default: the pretrained tiny model).</summary>
    public OptionText? From { get; set; }
    /// <summary>Variable name of the pipeline.</summary>
    public OptionText? Name { get; set; }
    /// <summary>The steps to run, comma-separated.</summary>
    public OptionText? Steps { get; set; }
    /// <summary>Steps to leave out of the default list, comma-separated.</summary>
    public OptionText? Skip { get; set; }
    /// <summary>Continue the pipeline of that name instead of starting a new one.</summary>
    public bool Resume { get; set; }
    /// <summary>Width factor of the grow step.</summary>
    public OptionText? Grow { get; set; }
    /// <summary>Bits per weight of the cluster step's palettes.</summary>
    public OptionText? Bits { get; set; }
    /// <summary>Loss budget of the route step's θ pick.</summary>
    public OptionText? Budget { get; set; }
    /// <summary>Steps of the train step.</summary>
    public OptionText? TrainSteps { get; set; }
    /// <summary>New tokens per prompt of every speed measurement.</summary>
    public OptionText? Tokens { get; set; }
}

/// <summary>
/// <c>#!pipeline</c>: takes one model through the deployment pipeline — grow (HyperCloning), train, draft (subcloning), route
/// (DynaMoE), cluster (DKM and palettes), decode (M2R2 and speculative decoding), export (ONNX), or the steps asked for — and
/// measures it after each step, with a live status line, the live loss chart of each step's training, and a Pareto chart
/// and table that gain a point and a row per step; then the invariants, the interactions between techniques and the
/// composed model's card. The pipeline is kept under its name (a C# variable), so a later line can resume it.
/// C#: <c>new DeploymentPipeline(model, corpus, PipelineOptions.For(quick)).Run(steps)</c>.
/// </summary>
static class PipelineMagic
{
    public const string Name = "#!pipeline";
    public const string DefaultName = "pipeline";

    /// <summary>Most new tokens per prompt of a speed measurement.</summary>
    public const int MaxTokens = 100_000;

    /// <summary>The name of the composed model a run registers: <c>&lt;name&gt;_model</c>.</summary>
    public static string ModelName(string pipeline) => $"{pipeline}_model";

    /// <summary>The pipelines the magic kept, per notebook, by name.</summary>
    static readonly ConditionalWeakTable<NotebookSession, Dictionary<string, DeploymentPipeline>> Kept = new();

    /// <summary>
    /// C# equivalent: a new <c>DeploymentPipeline</c> from the model (the pretrained one by default) with the shared recipe
    /// (<c>PipelineOptions.For(quick)</c>) and the options given, or the named pipeline resumed; <c>Run</c> with the steps,
    /// each training followed live; the composed model copied to <c>&lt;name&gt;_model</c>; the pipeline displayed.
    /// </summary>
    internal static string ToCSharp(PipelineCommand c)
    {
        var name = OptionValues.VariableName(c.Name, "--name", DefaultName);
        var model = ModelName(name);
        string run;
        if (c.Resume)
        {
            RefuseFixed(c, name);
            string? steps = c.Steps is not null ? CSharpSource.Literal(StepList(c, PipelineSteps.Names))
                : c.Skip is not null ? $"{name}.Remaining.Except({CSharpSource.Literal(Names(c.Skip, "--skip"))})"
                : null;
            run = $"{name}.Run({(steps is null ? "" : steps + ", ")}progress: LiveView.Following(everyRun: true));\n{model} = {name}.State.Target.Copy();\n";
            return run + $"display({name});";
        }
        var list = StepList(c, PipelineSteps.Names);
        if (list.Count == 0) throw NothingLeft(c);
        PipelineOrder.Check([], list);
        var from = c.From is null ? "PretrainedModels.LoadTinyMoby()" : OptionValues.VariableName(c.From, "--from", ModelMagic.DefaultName);
        var asked = Asked(c);
        var set = new List<string>();
        if (c.Grow is not null) set.Add($"GrowFactor = {CSharpSource.Literal(asked.GrowFactor)}");
        if (c.Bits is not null) set.Add($"Bits = {CSharpSource.Literal(asked.Bits)}");
        if (c.Budget is not null) set.Add($"LossBudget = {CSharpSource.Literal(asked.LossBudget)}");
        if (c.TrainSteps is not null)
            set.Add($"Training = QuickMode.Apply({CSharpSource.String(Name)}, PipelineOptions.For(false).Training with {{ Steps = {CSharpSource.Literal(asked.Training.Steps)}, " +
                    $"WarmupSteps = {CSharpSource.Literal(asked.Training.WarmupSteps)} }}, PipelineOptions.For(true).Training, quick)");
        if (c.Tokens is not null)
            set.Add($"DecodeTokens = quick ? Math.Min({CSharpSource.Literal(asked.DecodeTokens)}, PipelineOptions.For(true).DecodeTokens) : {CSharpSource.Literal(asked.DecodeTokens)}");
        var options = $"PipelineOptions.For(quick)" + (set.Count == 0 ? "" : $" with {{ {string.Join(", ", set)} }}");
        var all = list.SequenceEqual(PipelineSteps.Names);
        return $"var {name} = new DeploymentPipeline({from}, MobyDickCorpus.Get(), {options});\n" +
               $"{name}.Run({(all ? "" : CSharpSource.Literal(list) + ", ")}progress: LiveView.Following(everyRun: true));\n" +
               $"var {model} = {name}.State.Target.Copy();\n" +
               $"display({name});";
    }

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var full = PipelineOptions.For(quick: false);
        var fast = PipelineOptions.For(quick: true);
        var directive = new KernelActionDirective(Name)
        {
            Description = "Deployment pipeline: takes a copy of one model through the techniques in turn — grow (HyperCloning), train, draft " +
                          "(a small draft model by subcloning), route (DynaMoE), cluster (DKM, palettes), decode (M2R2 and speculative " +
                          "decoding, the fastest lossless decoder kept), export (ONNX) — or the --steps asked for, re-checks each " +
                          "technique's invariant on the composed model, and measures it the same way after every step: validation bits per " +
                          "byte, bytes on disk, parameters, peak memory, MLP compute per token, decoding speed against the start. Shows a " +
                          "live status line, each step's training chart, and a quality-vs-speed chart and table that gain a point per step; " +
                          "then the invariants, how the techniques interacted, and the composed model's card. Keeps the pipeline as a C# " +
                          $"variable (--name, default '{DefaultName}'; resume it with --resume) and its final model as '<name>_model'. " +
                          "Follows the notebook's quick mode (PipelineOptions.For(quick: true)). Interrupt the cell to stop. " +
                          "C#: new DeploymentPipeline(PretrainedModels.LoadTinyMoby(), TextCorpus.MobyDick(), PipelineOptions.For(quick)).Run(steps), then pipeline.Card().",
        };
        directive.Parameters.Add(ModelMagic.Option(session, "--from",
            "Name of the model to start from, made with #!model or a C# variable holding a byte-level TinyGpt; it is copied, never changed " +
            "(default: the pretrained tiny Moby-Dick model, as #!model --pretrained loads it)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--name",
            $"Variable name of the DeploymentPipeline in C# cells (e.g. pipeline.Card()); a new pipeline under an existing name replaces it, " +
            $"and the composed model is kept as '<name>_model' (default '{DefaultName}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--steps",
            $"The steps to run, comma-separated, in the order given: {string.Join(", ", PipelineSteps.Names)}; an order that cannot work is " +
            "refused before any work (default: every step not run yet, in that order)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--skip",
            "Steps to leave out of the default list, comma-separated, e.g. --skip route,export (default: none)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--resume",
            "Continue the pipeline called --name with the steps it has not run yet (or --steps), keeping its model, options and " +
            "measurements (default: off, a new pipeline).") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--grow",
            $"Width factor of the grow step (HyperCloning), 2 to 8 (default {full.GrowFactor})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--bits",
            $"Bits per weight of the cluster step's palettes (2^bits values per layer), 1 to 8 (default {full.Bits})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--budget",
            $"Loss budget of the route step: the cheapest θ whose validation loss is within this fraction of the dense model's is kept, " +
            $"0 to 1 (default {Invariant(full.LossBudget)}, i.e. {Format.Percent(full.LossBudget)} more loss)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--train-steps",
            $"Optimizer steps of the train step (default {full.Training.Steps}, {fast.Training.Steps} in quick mode)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--tokens",
            $"New tokens per prompt in every speed measurement and race (default {full.DecodeTokens}, {fast.DecodeTokens} in quick mode)."));
        magics.Add<PipelineCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>Everything the options ask for, checked before any work.</summary>
    sealed record Plan(string PipelineName, string ModelName, IReadOnlyList<string> Steps, DeploymentPipeline? Resumed,
        string? FromName, TinyGpt? From, PipelineOptions? Options, IReadOnlyList<string> QuickChanges);

    static async Task RunAsync(PipelineCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var plan = Read(c, session);
        if (plan.QuickChanges.Count > 0) QuickMode.Announce(context, Name, plan.QuickChanges);
        var cancellation = context.CancellationToken;
        var corpus = MobyDickCorpus.Get();
        DeploymentPipeline? fresh = null;
        bool kept = false;
        // Not while a training step (of an interrupted magic) may still be writing the weights this copies or trains.
        await session.TrainingGate.WaitAsync(cancellation);
        try
        {
            if (plan.Resumed is null)
            {
                // Off the kernel's thread: loading, copying and choosing the prompts take a moment for the pretrained model.
                fresh = await Task.Run(() =>
                {
                    if (plan.From is not null) return new DeploymentPipeline(plan.From, corpus, plan.Options!);
                    using var pretrained = PretrainedModels.LoadTinyMoby();
                    return new DeploymentPipeline(pretrained, corpus, plan.Options!);
                });
            }
            var pipeline = plan.Resumed ?? fresh!;
            var from = plan.Resumed is not null ? "" : $" from {(plan.FromName is null ? "the pretrained model" : $"'{plan.FromName}'")}";
            var view = new PipelineView($"{Name} '{plan.PipelineName}'{(plan.Resumed is null ? "" : " (resumed)")}: {string.Join(" → ", plan.Steps)}{from}");
            var live = new ThrottledDisplay(context, LiveView.UpdateInterval);
            live.Show(view);
            var table = new ThrottledDisplay(context, LiveView.UpdateInterval);
            if (pipeline.Measurements.Count > 0) table.Show(new HtmlString(PipelineHtml.Measurements(pipeline.Measurements)));
            // Raised on the pipeline's thread after each measurement: the chart and the table gain the step.
            void Measured(StepMeasurement _) => table.Show(new HtmlString(PipelineHtml.Measurements(pipeline.Measurements)), force: true);
            void Progress(TrainingRun run)
            {
                if (!ReferenceEquals(view.Run, run))
                {
                    view.Run = run;
                    session.LastRun = run;
                }
                live.Show(view, force: run.Outcome != TrainingOutcome.Running);
            }
            void Stage(string stage)
            {
                view.Stage = stage;
                live.Show(view, force: true);
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            pipeline.Measured += Measured;
            try
            {
                // Off the kernel's thread, so an interrupt is seen while the steps run; the pipeline checks the token between and inside steps.
                await Task.Run(() => pipeline.Run(plan.Steps, Progress, Stage, cancellation));
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                // Interrupted: the cell has ended, so nothing more is shown or shared; a new pipeline is dropped.
                return;
            }
            finally
            {
                pipeline.Measured -= Measured;
            }
            if (cancellation.IsCancellationRequested) return;

            if (fresh is not null)
            {
                // The pipeline it replaces lets go of its models: the one kept under the name, and the one the variable holds
                // (a magic made it: ResultName checked), once each.
                var replaced = new HashSet<DeploymentPipeline>(ReferenceEqualityComparer.Instance);
                var pipelines = Kept.GetOrCreateValue(session);
                lock (pipelines)
                {
                    if (pipelines.TryGetValue(plan.PipelineName, out var old)) replaced.Add(old);
                    pipelines[plan.PipelineName] = fresh;
                }
                if (session.Variable(plan.PipelineName) is DeploymentPipeline shared) replaced.Add(shared);
                foreach (var old in replaced.Where(p => !ReferenceEquals(p, fresh))) old.Dispose();
                kept = true;
                await session.ShareAsync(plan.PipelineName, fresh, typeof(DeploymentPipeline));
            }
            else if (!ReferenceEquals(session.Variable(plan.PipelineName), pipeline))
                await session.ShareAsync(plan.PipelineName, pipeline, typeof(DeploymentPipeline));
            var composed = pipeline.State.Target.Copy();
            composed.eval();
            session.Models.Set(plan.ModelName, composed);
            await session.ShareAsync(plan.ModelName, composed, typeof(TinyGpt));
            live.Show(new HtmlString(Done(plan, pipeline, clock.Elapsed.TotalSeconds)), force: true);
            table.Show(pipeline, force: true);
        }
        finally
        {
            if (!kept) fresh?.Dispose();
            session.TrainingGate.Release();
        }
    }

    /// <summary>The line that replaces the live status when every step has run.</summary>
    static string Done(Plan plan, DeploymentPipeline pipeline, double seconds)
    {
        var left = pipeline.Remaining;
        return $"<div class=\"efml-pipeline-done\" style=\"{Html.BlockStyle}\"><span style=\"color:#1b7f2a;font-weight:600\">✓</span> " +
               $"{Name} '{Html.Encode(plan.PipelineName)}' ran {Html.Encode(string.Join(" → ", plan.Steps))} in {PipelineCharts.Seconds(seconds)}. " +
               $"Kept as the C# variable <code>{Html.Encode(plan.PipelineName)}</code> (<code>{Html.Encode(plan.PipelineName)}.Card()</code>, " +
               $"<code>.Measurements</code>, <code>.Interactions</code>) and the composed model as <code>{Html.Encode(plan.ModelName)}</code>." +
               (left.Count == 0 ? "" : $" Not run: {Html.Encode(string.Join(", ", left))}; continue with <code>{Name} --name {Html.Encode(plan.PipelineName)} --resume</code>.") +
               "</div>";
    }

    /// <summary>Reads and checks every option before anything runs: each mistake becomes one message naming the fix.</summary>
    static Plan Read(PipelineCommand c, NotebookSession session)
    {
        if (c.Resume)
        {
            var name = OptionValues.VariableName(c.Name, "--name", DefaultName);
            var pipeline = Find(session, name);
            RefuseFixed(c, name);
            var steps = StepList(c, pipeline.Remaining);
            if (steps.Count == 0)
                throw new MagicException(c.Skip is not null && pipeline.Remaining.Count > 0
                    ? $"--skip {c.Skip.Trim()} leaves no step to run: '{name}' has not run {string.Join(", ", pipeline.Remaining)}. Leave one of them out of --skip."
                    : $"Nothing left to run: pipeline '{name}' has run every step ({string.Join(", ", pipeline.State.Done)}). " +
                      $"Show it with a C# cell '{name}', or start a new pipeline (leave out --resume).");
            PipelineOrder.Check(pipeline.State.Done, steps);
            var modelName = ModelName(name);
            session.EnsureFree(modelName, "--name");
            return new Plan(name, modelName, steps, pipeline, null, null, null, []);
        }
        else
        {
            var name = session.ResultName(c.Name, "--name", DefaultName);
            var modelName = ModelName(name);
            session.EnsureFree(modelName, "--name");
            var steps = StepList(c, PipelineSteps.Names);
            if (steps.Count == 0) throw NothingLeft(c);
            PipelineOrder.Check([], steps);
            var (options, changes) = Options(c, session.Quick);
            string? fromName = c.From?.Trim();
            TinyGpt? from = null;
            if (fromName is not null)
            {
                from = ModelMagic.Find(session, fromName, "start a pipeline from");
            }
            return new Plan(name, modelName, steps, null, fromName, from, options, changes);
        }
    }

    /// <summary>The pipeline called <paramref name="name"/>: the C# variable of that name when it holds one, else the one the magic kept.</summary>
    static DeploymentPipeline Find(NotebookSession session, string name)
    {
        if (session.Variable(name) is DeploymentPipeline shared) return shared;
        var pipelines = Kept.GetOrCreateValue(session);
        lock (pipelines)
        {
            if (pipelines.TryGetValue(name, out var pipeline)) return pipeline;
            var known = pipelines.Keys.Concat(session.VariableNames<DeploymentPipeline>()).Distinct().ToList();
            throw new MagicException($"There is no pipeline named '{OptionValues.Shown(name)}' to resume. Start it first with {Name} --name {name} " +
                                     $"(without --resume){(known.Count > 0 ? $", or resume one of: {string.Join(", ", known)}" : "")}.");
        }
    }

    /// <summary>The options a resumed pipeline cannot change, given: one message.</summary>
    static void RefuseFixed(PipelineCommand c, string name)
    {
        var given = new (string Option, bool Given)[]
        {
            ("--from", c.From is not null), ("--grow", c.Grow is not null), ("--bits", c.Bits is not null), ("--budget", c.Budget is not null),
            ("--train-steps", c.TrainSteps is not null), ("--tokens", c.Tokens is not null),
        }.Where(g => g.Given).Select(g => g.Option).ToList();
        if (given.Count > 0)
            throw new MagicException($"{string.Join(", ", given)} {(given.Count == 1 ? "is" : "are")} set when a pipeline starts, and '{name}' keeps the model and " +
                                     $"options it started with: drop {(given.Count == 1 ? "it" : "them")} to resume, or start a new pipeline (leave out --resume).");
    }

    static MagicException NothingLeft(PipelineCommand c) =>
        new($"--skip {c.Skip?.Trim()} leaves no step to run: keep at least one of {string.Join(", ", PipelineSteps.Names)}.");

    /// <summary>The steps asked for: --steps (each checked, in its order), or <paramref name="remaining"/> less --skip.</summary>
    static IReadOnlyList<string> StepList(PipelineCommand c, IReadOnlyList<string> remaining)
    {
        if (c.Steps is not null && c.Skip is not null)
            throw new MagicException("--skip leaves steps out of the default list, and --steps gives the list itself: use one of them (leave the steps out of --steps).");
        if (c.Steps is not null) return Names(c.Steps, "--steps");
        if (c.Skip is null) return remaining.ToList();
        var skip = Names(c.Skip, "--skip");
        return remaining.Where(s => !skip.Contains(s)).ToList();
    }

    /// <summary>A comma-separated list of step names, each a built-in step (case does not matter).</summary>
    static IReadOnlyList<string> Names(string text, string option)
    {
        var names = OptionValues.Names(text, option, "grow,train")!;
        return names.Select(n =>
        {
            try { return PipelineSteps.Named(n).Name; }
            catch (InvalidSettingsException e) { throw new MagicException($"{option} {OptionValues.Shown(text.Trim())}: {e.Message}"); }
        }).ToList();
    }

    /// <summary>The recipe's settings (not quick) with the options given: what the line asks for.</summary>
    static PipelineOptions Asked(PipelineCommand c)
    {
        var o = PipelineOptions.For(quick: false);
        if (c.Grow is not null)
            o = o with { GrowFactor = OptionValues.Int(c.Grow, "--grow", o.GrowFactor, min: 2, max: 8, why: "HyperCloning multiplies every width by it") };
        if (c.Bits is not null)
            o = o with { Bits = OptionValues.Int(c.Bits, "--bits", o.Bits, min: 1, max: 8, why: "a palette holds 2^bits values, 2 to 256") };
        if (c.Budget is not null)
            o = o with { LossBudget = OptionValues.Double(c.Budget, "--budget", o.LossBudget, min: 0, max: 1, why: "a fraction of the dense model's loss, e.g. 0.02 for 2% more") };
        if (c.TrainSteps is not null)
        {
            int steps = OptionValues.Int(c.TrainSteps, "--train-steps", o.Training.Steps, min: 1, max: TrainingOptions.MaxSteps);
            o = o with { Training = o.Training with { Steps = steps, WarmupSteps = Math.Min(o.Training.WarmupSteps, steps / 10) } };
        }
        if (c.Tokens is not null)
            o = o with { DecodeTokens = OptionValues.Int(c.Tokens, "--tokens", o.DecodeTokens, min: 1, max: MaxTokens) };
        return o.Validate();
    }

    /// <summary>
    /// The settings a new pipeline runs with: what the line asks for, or in quick mode the quick recipe with the options given
    /// on top, the training steps and decode tokens capped at the quick recipe's (as every magic's budget is); and what quick
    /// mode changed, for the note above the output.
    /// </summary>
    internal static (PipelineOptions Options, IReadOnlyList<string> QuickChanges) Options(PipelineCommand c, bool quick)
    {
        var asked = Asked(c);
        if (!quick) return (asked, []);
        var fast = PipelineOptions.For(quick: true);
        var used = fast with
        {
            GrowFactor = asked.GrowFactor, Bits = asked.Bits, LossBudget = asked.LossBudget,
            Training = c.TrainSteps is null ? fast.Training : QuickMode.Shorten(asked.Training, fast.Training),
            DecodeTokens = c.Tokens is null ? fast.DecodeTokens : Math.Min(asked.DecodeTokens, fast.DecodeTokens),
        };
        var changes = new List<string>();
        void Add(string what, long before, long after)
        {
            if (before != after) changes.Add($"{Format.Count(before)} → {Format.Count(after)} {what}");
        }
        Add("training steps", asked.Training.Steps, used.Training.Steps);
        Add("draft-training steps", asked.DraftTraining.Steps, used.DraftTraining.Steps);
        Add("routing fine-tuning steps", asked.RoutingTraining.Steps, used.RoutingTraining.Steps);
        Add("θs in the sweep", asked.Thetas.Count, used.Thetas.Count);
        Add("clustering fine-tuning steps", asked.ClusterTraining.Steps, used.ClusterTraining.Steps);
        Add("accelerator-training steps", asked.AcceleratorTraining.Steps, used.AcceleratorTraining.Steps);
        Add("decode tokens per prompt", asked.DecodeTokens, used.DecodeTokens);
        Add("validation batches per measurement", asked.EvalBatches, used.EvalBatches);
        return (used.Validate(), changes);
    }

    static string Invariant(double value) => value.ToString("G", CultureInfo.InvariantCulture);
}
