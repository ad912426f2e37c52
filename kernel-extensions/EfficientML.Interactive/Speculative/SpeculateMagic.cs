using System.Diagnostics;
using System.Globalization;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Speculative;
using EfficientML.Text;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!speculate</c>, bound by name (<c>--max-gamma</c> → <see cref="MaxGamma"/>); numbers arrive as text and are checked here.</summary>
public sealed class SpeculateCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => SpeculateMagic.ToCSharp(this);

    /// <summary>The prompt <c>#!speculate</c> uses without <c>--prompt</c>: the start of the validation split, at most half the context.</summary>
    public static string DefaultPrompt(TextCorpus corpus, int contextLength) => SpeculateMagic.DefaultPrompt(corpus, contextLength);

    /// <summary>Name of the model to decode (the target).</summary>
    public OptionText? Model { get; set; }
    /// <summary>Text to continue.</summary>
    public OptionText? Prompt { get; set; }
    /// <summary>New tokens to produce.</summary>
    public OptionText? Tokens { get; set; }
    /// <summary>Exit layer of self-drafting.</summary>
    public OptionText? K { get; set; }
    /// <summary>Draft tokens per round.</summary>
    public OptionText? Gamma { get; set; }
    /// <summary>Adapt γ to the acceptance.</summary>
    public bool Adaptive { get; set; }
    /// <summary>Largest γ of the adaptive rule.</summary>
    public OptionText? MaxGamma { get; set; }
    /// <summary>Sampling temperature (0: greedy).</summary>
    public OptionText? Temperature { get; set; }
    /// <summary>Sample among the k most likely tokens.</summary>
    public OptionText? TopK { get; set; }
    /// <summary>Seed of the sampler.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>m2r2, early-exit, or the name of a draft model.</summary>
    public OptionText? Draft { get; set; }
    /// <summary>Steps of accelerator training.</summary>
    public OptionText? Steps { get; set; }
    /// <summary>Variable name of the result.</summary>
    public OptionText? Name { get; set; }
}

/// <summary>
/// <c>#!speculate</c>: speculative decoding of a named model, with drafts from its own first k layers (M2R2's accelerated
/// residual, trained here on first use, or plain early exit) or from a second, smaller model; runs plain decoding on the same
/// prompt as the baseline, shows the text coloured by where each token came from while it decodes, then the run's figures,
/// its speed over plain decoding and whether greedy output equals plain greedy output token for token.
/// C#: <c>new SpeculativeDecoder(model, new SelfDrafter(k, adapters)).Generate(prompt, new SpeculationOptions { Gamma = 4 })</c>.
/// </summary>
static class SpeculateMagic
{
    /// <summary>
    /// C# equivalent: for M2R2 drafts, accelerator adapters trained by <c>AcceleratorTraining.Train</c> (shortened in quick
    /// mode); then <c>new SpeculativeDecoder(model, drafter).Generate(prompt, options)</c> and the result.
    /// </summary>
    internal static string ToCSharp(SpeculateCommand c)
    {
        var model = OptionValues.VariableName(c.Model, "--model", ModelMagic.DefaultName);
        var result = OptionValues.VariableName(c.Name, "--name", DefaultResultName);
        int gamma = Gamma(c.Gamma);
        int? maxGamma = c.MaxGamma is null ? null : OptionValues.Int(c.MaxGamma, "--max-gamma", DefaultMaxGamma, min: 1, max: MaxGamma);
        if (maxGamma is not null && !c.Adaptive) throw new MagicException("--max-gamma only applies with --adaptive: add --adaptive, or drop --max-gamma.");
        double temperature = Temperature(c.Temperature);
        int? topK = c.TopK is null ? null : OptionValues.Int(c.TopK, "--top-k", 40, min: 1, max: TinyGptConfig.MaxSize);
        long? seed = c.Seed is null ? null : OptionValues.Long(c.Seed, "--seed", 1);
        var options = new SpeculationOptions
        {
            MaxNewTokens = OptionValues.Int(c.Tokens, "--tokens", DefaultTokens, min: 1, max: MaxTokens), Gamma = gamma, AdaptiveGamma = c.Adaptive,
            MaxGamma = maxGamma ?? Math.Max(DefaultMaxGamma, gamma), Temperature = temperature, TopK = topK ?? 0, Seed = seed ?? 1,
        };
        var draft = (c.Draft ?? M2R2Draft).Trim();
        var prompt = c.Prompt is null ? $"SpeculateCommand.DefaultPrompt(MobyDickCorpus.Get(), {model}.Config.ContextLength)" : CSharpSource.String(c.Prompt);
        if (c.Prompt is { Text.Length: 0 }) throw new MagicException("--prompt is empty: give some text in quotes, e.g. --prompt \"Call me Ishmael. \", or leave it out for the default.");
        var k = c.K is null ? $"Math.Max(1, {model}.Config.Layers / 2)" : OptionValues.Int(c.K, "--k", 1, min: 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var code = new System.Text.StringBuilder();
        string drafter;
        if (draft == M2R2Draft)
        {
            if (c.K is null) throw new MagicException("--k: give the exit layer in a script (the magic's default depends on the model), e.g. --k 4.");
            int steps = OptionValues.Int(c.Steps, "--steps", AcceleratorTrainingDefaults(quick: false).Steps, min: 1, max: TrainingOptions.MaxSteps);
            var adapters = AdaptersVariable(model, int.Parse(k, System.Globalization.CultureInfo.InvariantCulture));
            code.Append($"var {adapters} = AcceleratorAdapters.For({model}, {k}, Math.Min(SpeculativeExperiments.Rank, {model}.Config.Dim));\n");
            code.Append($"var {adapters}Training = QuickMode.Apply({CSharpSource.String(Name)}, SpeculativeExperiments.AcceleratorTraining(quick: false) with {{ EvalAtStart = true, Steps = {steps}, " +
                        $"BlockSize = Math.Min(SpeculativeExperiments.AcceleratorTraining(quick: false).BlockSize, {model}.Config.ContextLength), " +
                        $"WarmupSteps = Math.Min(SpeculativeExperiments.AcceleratorTraining(quick: false).WarmupSteps, {steps} / 10) }}, " +
                        "SpeculativeExperiments.AcceleratorTraining(quick: true) with { EvalAtStart = true }, quick);\n");
            code.Append($"var {adapters}Run = AcceleratorTraining.Train({model}, {adapters}, MobyDickCorpus.Get(), {adapters}Training, new AcceleratorOptions {{ Exits = [{k}] }}, LiveView.Following());\n");
            code.Append($"{adapters}Run.ThrowIfDiverged();\ndisplay({adapters}Run);\n");
            drafter = $"new SelfDrafter({k}, {adapters})";
        }
        else if (draft == EarlyExitDraft)
        {
            CSharpSource.Refuse(Name, ("--steps", c.Steps != null));
            drafter = $"new SelfDrafter({k})";
        }
        else
        {
            CSharpSource.Refuse(Name, ("--k", c.K != null), ("--steps", c.Steps != null));
            var other = OptionValues.VariableName(draft, "--draft", "draft");
            drafter = $"new ModelDrafter({other}, {CSharpSource.String($"draft model '{other}'")})";
        }
        code.Append($"var {result} = new SpeculativeDecoder({model}, {drafter})\n" +
                    $"    .Generate(MobyDickCorpus.Get().Tokenizer.Encode({prompt}), {CSharpSource.Initializer(options)});\n");
        code.Append($"display({result});");
        return code.ToString();
    }

    public const string Name = "#!speculate";
    public const string DefaultResultName = "speculation";

    /// <summary>The C# variable that holds the M2R2 accelerators the run drafted with.</summary>
    /// <summary>The C# variable the accelerators are kept in: one per model and exit layer, e.g. tiny_adapters_k4.</summary>
    public static string AdaptersVariable(string model, int k) => $"{model}_adapters_k{k}";

    public const int DefaultTokens = 200;
    public const int DefaultGamma = 4;
    public const int DefaultMaxGamma = 8;

    /// <summary>Largest γ and largest number of new tokens the magic accepts.</summary>
    public const int MaxGamma = 64, MaxTokens = 100_000;

    /// <summary>Bytes of the default prompt (at most half the model's context): the start of the validation split, cut at a space.</summary>
    public const int DefaultPromptLength = 96;

    /// <summary>Drafting kinds besides a model's name.</summary>
    public const string M2R2Draft = "m2r2", EarlyExitDraft = "early-exit";

    /// <summary>
    /// How the accelerators are trained when a run needs them (the model stays frozen): the experiments' own settings
    /// (<see cref="SpeculativeExperiments.AcceleratorTraining"/>, and <see cref="SpeculativeExperiments.Rank"/> for the
    /// adapters), the quick ones when the notebook runs in quick mode.
    /// </summary>
    public static TrainingOptions AcceleratorTrainingDefaults(bool quick) => SpeculativeExperiments.AcceleratorTraining(quick) with { EvalAtStart = true };

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var t = AcceleratorTrainingDefaults(quick: false);
        var directive = new KernelActionDirective(Name)
        {
            Description = "Speculative decoding: a cheap drafter proposes --gamma tokens, the model checks them all in one pass over its KV cache, " +
                          "keeps the prefix it agrees with plus one token of its own, and rolls the cache back past the first rejection. " +
                          "Drafts come from the model's own first --k layers (--draft m2r2: M2R2's accelerated residual stream, whose small " +
                          "adapters are trained here on first use with a live loss chart; --draft early-exit: the same layers without them) or " +
                          "from a second, smaller model (--draft NAME). Runs plain decoding on the same prompt as the baseline, shows the text " +
                          "coloured by where each token came from while decoding (accepted draft, corrected, bonus), then the run's figures, its " +
                          "speed over plain decoding, and whether greedy output equals plain greedy output token for token. Keeps the " +
                          $"SpeculativeResult (--name, default '{DefaultResultName}') and the accelerators ('{AdaptersVariable("model", 4)}' for --model model --k 4) as C# variables. " +
                          "Interrupt the cell to stop training or decoding. " +
                          "C#: new SpeculativeDecoder(model, new SelfDrafter(k, adapters)).Generate(prompt, new SpeculationOptions { Gamma = 4 }).",
        };
        directive.Parameters.Add(ModelMagic.Option(session, "--model",
            $"Name of the model to decode (the target), made with #!model or a C# variable holding a byte-level TinyGpt; it is not changed (default '{ModelMagic.DefaultName}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--prompt",
            $"Text to continue, in quotes, at most the model's context in bytes (default: the first ~{DefaultPromptLength} bytes of the Moby-Dick " +
            "validation split, cut at a space, and at most half the context)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--tokens", $"New tokens (bytes) to produce after the prompt (default {DefaultTokens})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--draft",
            $"Where drafts come from: '{M2R2Draft}' (the first --k layers plus M2R2 accelerator adapters), '{EarlyExitDraft}' (the first --k layers " +
            $"and the shared head, no adapters), or the name of another model with the same tokenizer (two-model drafting) (default '{M2R2Draft}').")
            .AddCompletions(() => new[] { M2R2Draft, EarlyExitDraft }.Concat(session.ModelNames<TinyGpt>()).ToList()));
        directive.Parameters.Add(new KernelDirectiveParameter("--k",
            "Exit layer of self-drafting: the draft runs the model's first k blocks, 1 to layers−1 (default: half the layers, e.g. 4 of 8)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--gamma",
            $"γ: draft tokens proposed per round, at least 1; each round costs γ draft steps and one full-model pass (default {DefaultGamma})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--adaptive",
            "Adapt γ as it goes: +2 after a round whose drafts were all accepted, −1 after a rejection, within 1..--max-gamma (default: off).") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--max-gamma",
            $"Largest γ the --adaptive rule may reach (default {DefaultMaxGamma}, or --gamma if larger)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--temperature",
            "0 decodes greedily (the output then equals plain greedy decoding token for token); above 0 samples with the rejection rule, " +
            "whose output follows the model's own distribution exactly (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--top-k", "With --temperature above 0: sample only among the k most likely tokens (default: all)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--seed", "With --temperature above 0: seed of the sampler and of the acceptance draws (default 1)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--steps",
            $"With --draft {M2R2Draft}: steps of accelerator training when no accelerators for this model and --k were trained in this notebook yet " +
            $"(they are kept and reused until the model's weights change) (default {t.Steps}, {AcceleratorTrainingDefaults(quick: true).Steps} in quick mode: " +
            $"batches of {t.BatchSize}×{t.BlockSize} tokens, learning rate {Invariant(t.LearningRate)}; the settings of SpeculativeExperiments.AcceleratorTraining)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--name",
            $"Variable name for the SpeculativeResult in C# cells (default '{DefaultResultName}')."));
        magics.Add<SpeculateCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    enum DraftKind { M2R2, EarlyExit, Model }

    /// <summary>Everything the options ask for, checked.</summary>
    sealed record Plan(
        string ModelName, TinyGpt Model, DraftKind Kind, string DraftName, TinyGpt? DraftModel, int K, int Steps,
        string Prompt, int[] PromptTokens, SpeculationOptions Options, string ResultName);

    /// <summary>What the worker thread measured; null when interrupted.</summary>
    sealed record Outcome(SpeculativeResult Result, int[] Plain, IReadOnlyList<RaceLine> Race)
    {
        /// <summary>Plain decoding's and speculative decoding's lines of the race.</summary>
        public RaceLine PlainLine => Race[0];
        public RaceLine SpeculativeLine => Race[1];
    }

    static async Task RunAsync(SpeculateCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var corpus = MobyDickCorpus.Get();
        var plan = Read(c, session, corpus);
        var cancellation = context.CancellationToken;
        // Not while a training step (of an interrupted #!train, #!race, #!cluster, #!route or #!speculate) may still be writing weights.
        await session.TrainingGate.WaitAsync(cancellation);
        try
        {
            var view = new SpeculateView(corpus.Tokenizer, plan.Prompt);
            var display = new ThrottledDisplay(context, LiveView.UpdateInterval);
            AcceleratorAdapters? adapters = null;
            TrainingRun? trainedHere = null;
            if (plan.Kind == DraftKind.M2R2)
            {
                double fingerprint = TrainedAccelerators.Fingerprint(plan.Model);
                if (session.Accelerators.TryGet(plan.Model, plan.K, fingerprint, out var known))
                {
                    adapters = known.Adapters;
                    view.Note = $"Drafting with the M2R2 accelerators trained earlier in this notebook for '{plan.ModelName}' at k = {plan.K} " +
                                $"({known.Run.Steps.Count} steps, validation loss {Html.Number(Math.Round(known.Run.LastValidationLoss ?? double.NaN, 4))}).";
                }
                else
                {
                    view.Stage = $"Training M2R2 accelerators for the first {plan.K} of {plan.Model.Config.Layers} layers of '{plan.ModelName}' (the model stays frozen)…";
                    display.Show(view);
                    var fresh = AcceleratorAdapters.For(plan.Model, plan.K, Math.Min(SpeculativeExperiments.Rank, plan.Model.Config.Dim));
                    var d = AcceleratorTrainingDefaults(quick: false);
                    var asked = d with { Steps = plan.Steps, BlockSize = Math.Min(d.BlockSize, plan.Model.Config.ContextLength), WarmupSteps = Math.Min(d.WarmupSteps, plan.Steps / 10) };
                    var training = QuickMode.Apply(session, context, Name, asked, AcceleratorTrainingDefaults(quick: true));
                    void Progress(TrainingRun r)
                    {
                        if (view.Run is null)
                        {
                            view.Run = r;
                            session.LastRun = r;
                        }
                        display.Show(view, force: r.Outcome != TrainingOutcome.Running);
                    }
                    // Off the kernel's thread, so an interrupt is seen while the steps run; the trainer checks the token between steps.
                    var run = await Task.Run(() => AcceleratorTraining.Train(plan.Model, fresh, corpus, training,
                        new AcceleratorOptions { Exits = [plan.K] }, Progress, cancellation));
                    if (cancellation.IsCancellationRequested || run.Outcome == TrainingOutcome.Cancelled)
                    {
                        fresh.Dispose();
                        return;
                    }
                    if (run.Outcome == TrainingOutcome.Diverged)
                    {
                        fresh.Dispose();
                        throw new MagicException($"{run.Name}: {run.Message} Try fewer --steps, or train the model further first.");
                    }
                    // Kept before anything else can fail: a later error does not cost the training.
                    session.Accelerators.Set(plan.Model, plan.K, new TrainedAccelerators.Entry(fresh, fingerprint, run));
                    adapters = fresh;
                    trainedHere = run;
                }
                await session.ShareAsync(AdaptersVariable(plan.ModelName, plan.K), adapters, typeof(AcceleratorAdapters));
            }

            using var drafter = plan.Kind switch
            {
                DraftKind.Model => (Drafter)new ModelDrafter(plan.DraftModel!, $"draft model '{plan.DraftName}' ({plan.DraftModel!.Config.Layers}×{plan.DraftModel.Config.Dim})"),
                DraftKind.EarlyExit => new SelfDrafter(plan.K),
                _ => new SelfDrafter(plan.K, adapters),
            };
            var decoder = new SpeculativeDecoder(plan.Model, drafter);
            var outcome = await Task.Run(() => Decode(plan, decoder, view, display, session.Quick, cancellation));
            // Interrupted: the cell has ended, so nothing more is shown or shared.
            if (outcome is null || cancellation.IsCancellationRequested) return;
            await session.ShareAsync(plan.ResultName, outcome.Result, typeof(SpeculativeResult));
            display.Show(new HtmlString(Report(plan, outcome, trainedHere, corpus.Tokenizer)), force: true);
        }
        finally
        {
            session.TrainingGate.Release();
        }
    }

    /// <summary>
    /// On a worker thread: the speed comparison first, with the library's race (plain and speculative decoding of the same
    /// prompt in turn, medians of per-repeat ratios), then speculative decoding drawn live, then plain greedy output once
    /// more for the token-for-token check.
    /// </summary>
    static Outcome? Decode(Plan plan, SpeculativeDecoder decoder, SpeculateView view, ThrottledDisplay display, bool quick, CancellationToken cancellation)
    {
        int repeats = quick ? 1 : 3;
        view.Stage = $"Timing plain and speculative decoding of the prompt in turn ({repeats} repeat{(repeats == 1 ? "" : "s")} after a warm-up)…";
        display.Show(view, force: true);
        IReadOnlyList<RaceLine> race;
        try { race = SpeculativeExperiments.Race(plan.Model, [decoder.Drafter], [plan.PromptTokens], plan.Options, repeats, cancellation: cancellation); }
        catch (OperationCanceledException) { return null; }
        view.PlainTokensPerSecond = race[0].TokensPerSecond;
        view.Stage = $"Speculative decoding with {decoder.Drafter.Name}, γ = {plan.Options.Gamma}{(plan.Options.AdaptiveGamma ? " (adaptive)" : "")}…";
        view.StartDecoding(decoder.Drafter.Name);
        display.Show(view, force: true);

        // Redrawn from another thread, a few times a second, so the decoding thread only records tokens.
        using var stop = new CancellationTokenSource();
        var ticker = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(LiveView.UpdateInterval, stop.Token); }
                catch (OperationCanceledException) { break; }
                display.Show(view);
            }
        });
        SpeculativeResult result;
        try
        {
            result = decoder.Generate(plan.PromptTokens, plan.Options, view.Add, cancellation, onRound: view.Add);
        }
        finally
        {
            stop.Cancel();
            ticker.Wait();
        }
        if (cancellation.IsCancellationRequested) return null;
        var plain = plan.Model.Generate(plan.PromptTokens, plan.Options.AsGeneration(), cancellation: cancellation);
        return cancellation.IsCancellationRequested ? null : new Outcome(result, plain, race);
    }

    /// <summary>The final output: the verdict, the speed race, the training (when it ran in this cell) and the run itself.</summary>
    static string Report(Plan plan, Outcome o, TrainingRun? training, ITokenizer tokenizer)
    {
        var r = o.Result;
        double ratio = o.SpeculativeLine.SpeedUp;
        var html = new System.Text.StringBuilder($"<div class=\"efml-speculate\" style=\"{Html.BlockStyle}\">");
        html.Append($"<div class=\"efml-speculate-speed\" style=\"font-size:14px;margin-bottom:4px\">Speculative decoding: <b>{Html.Count((long)Math.Round(o.SpeculativeLine.TokensPerSecond))}</b> tokens/s, " +
                    $"plain decoding: <b>{Html.Count((long)Math.Round(o.PlainLine.TokensPerSecond))}</b> tokens/s: <b>{ratio.ToString("0.00", CultureInfo.InvariantCulture)}×</b> " +
                    $"{(ratio >= 1 ? "faster" : "the speed of plain decoding (slower)")} (reading the prompt counts in neither; " +
                    $"timed in turn over {Html.Count(plan.Options.MaxNewTokens)} tokens, median of the repeats: SpeculativeExperiments.Race).</div>");
        html.Append(Verdict(plan, o, tokenizer));
        html.Append(ChartHtml.Fragment(SpeculativeCharts.Race(o.Race)));
        if (training is not null) html.Append(TrainingRunHtml.Render(training));
        html.Append(SpeculativeResultHtml.Render(r, tokenizer, plan.Prompt));
        return html.Append("</div>").ToString();
    }

    /// <summary>✓ when greedy output equals plain greedy output token for token, ✗ with the first difference; for sampling, what holds instead.</summary>
    static string Verdict(Plan plan, Outcome o, ITokenizer tokenizer)
    {
        var o2 = plan.Options;
        if (o2.Temperature > 0)
            return "<div class=\"efml-speculate-verdict\" style=\"margin:4px 0\">≈ Sampling (temperature " + Invariant(o2.Temperature) +
                   (o2.TopK > 0 ? $", top-k {o2.TopK}" : "") + $", seed {o2.Seed}): the rejection rule keeps the model's own distribution exactly, " +
                   "so the text follows the same distribution as plain sampling; it is not the same text token for token, because the two runs use their random numbers differently.</div>";
        var spec = o.Result.Tokens;
        int n = Math.Min(spec.Length, o.Plain.Length), at = 0;
        while (at < n && spec[at] == o.Plain[at]) at++;
        if (at == n && spec.Length == o.Plain.Length)
            return $"<div class=\"efml-speculate-verdict\" style=\"margin:4px 0;color:#1a7f37;font-weight:600\">✓ The same output as plain greedy decoding, token for token ({Html.Count(spec.Length)} tokens).</div>";
        string Token(int[] tokens, int i) => i < tokens.Length ? $"token {tokens[i]} ({Html.Encode(Show(tokenizer.Decode([tokens[i]])))})" : "nothing (it stopped)";
        return $"<div class=\"efml-speculate-verdict\" style=\"margin:4px 0;color:#b00020;font-weight:600\">✗ The output differs from plain greedy decoding from token {at + 1} of {Html.Count(Math.Max(spec.Length, o.Plain.Length))} on: " +
               $"speculative gave {Token(spec, at)}, plain gave {Token(o.Plain, at)}.</div>";
    }

    static string Show(string text) => text switch { "\n" => "newline", " " => "space", "\t" => "tab", _ => $"‘{text}’" };

    /// <summary>Reads and checks every option before anything runs: each mistake becomes one message naming the fix.</summary>
    static Plan Read(SpeculateCommand c, NotebookSession session, TextCorpus corpus)
    {
        var modelName = (c.Model ?? ModelMagic.DefaultName).Trim();
        var resultName = session.ResultName(c.Name, "--name", DefaultResultName);
        int tokens = OptionValues.Int(c.Tokens, "--tokens", DefaultTokens, min: 1, max: MaxTokens);
        int gamma = Gamma(c.Gamma);
        int? maxGamma = c.MaxGamma is null ? null : OptionValues.Int(c.MaxGamma, "--max-gamma", DefaultMaxGamma, min: 1, max: MaxGamma);
        if (maxGamma is not null && !c.Adaptive)
            throw new MagicException("--max-gamma only applies with --adaptive (a fixed γ is --gamma): add --adaptive, or drop --max-gamma.");
        if (maxGamma < gamma)
            throw new MagicException($"--max-gamma {maxGamma} is below --gamma {gamma}, where the adaptive rule starts: raise --max-gamma or lower --gamma.");
        double temperature = Temperature(c.Temperature);
        int? topK = c.TopK is null ? null : OptionValues.Int(c.TopK, "--top-k", 40, min: 1, max: TinyGptConfig.MaxSize);
        long? seed = c.Seed is null ? null : OptionValues.Long(c.Seed, "--seed", 1);
        if (temperature == 0 && (topK is not null || seed is not null))
            throw new MagicException($"{(topK is not null ? "--top-k" : "--seed")} only applies to sampling, and greedy decoding (--temperature 0) has no randomness: " +
                                     "add --temperature 0.8, or drop it.");
        var model = ModelMagic.Find(session, modelName, "speculate with");
        var config = model.Config;
        if (config.VocabSize != corpus.Tokenizer.VocabSize)
            throw new MagicException($"'{modelName}' has a vocabulary of {config.VocabSize:N0} tokens, but #!speculate reads and writes text with the byte tokenizer " +
                                     $"({corpus.Tokenizer.VocabSize} ids): use a byte-level model, or call SpeculativeDecoder from C# with the model's own tokenizer.");
        if (topK > config.VocabSize)
            throw new MagicException($"--top-k {topK} is more than the {config.VocabSize} tokens the model knows: use 1..{config.VocabSize}, e.g. --top-k 40.");
        if (gamma >= config.ContextLength)
            throw new MagicException($"--gamma {gamma} does not fit: a round's drafts must fit in the model's context of {config.ContextLength} tokens; use --gamma {Math.Min(DefaultGamma, config.ContextLength - 1)}.");

        var (kind, draftName, draftModel) = Draft(c.Draft, session, modelName, model);
        int layers = config.Layers, k = 0;
        if (kind == DraftKind.Model)
        {
            if (c.K is not null)
                throw new MagicException($"--k is the exit layer of self-drafting, but with --draft {draftName} the other model drafts: drop --k, or use --draft {M2R2Draft}.");
        }
        else
        {
            if (layers < 2)
                throw new MagicException($"--draft {draftName} drafts with the first k of the model's layers, and '{modelName}' has only 1: use a model of at least 2 layers, " +
                                         "or --draft NAME with a smaller model.");
            k = K(c.K, layers);
        }
        if (c.Steps is not null && kind != DraftKind.M2R2)
            throw new MagicException($"--steps trains M2R2's accelerators, which --draft {draftName} does not use: drop --steps, or use --draft {M2R2Draft}.");
        int steps = OptionValues.Int(c.Steps, "--steps", AcceleratorTrainingDefaults(quick: false).Steps, min: 1, max: TrainingOptions.MaxSteps);

        var prompt = c.Prompt ?? DefaultPrompt(corpus, config.ContextLength);
        if (prompt.Length == 0)
            throw new MagicException("--prompt is empty: give some text in quotes, e.g. --prompt \"Call me Ishmael. \", or leave it out for the default.");
        var promptTokens = corpus.Tokenizer.Encode(prompt);
        if (promptTokens.Length > config.ContextLength)
            throw new MagicException($"--prompt has {promptTokens.Length:N0} tokens (UTF-8 bytes) but '{modelName}' reads at most {config.ContextLength}: " +
                                     $"shorten it to {config.ContextLength} bytes or fewer.");
        var options = new SpeculationOptions
        {
            MaxNewTokens = tokens, Gamma = gamma, AdaptiveGamma = c.Adaptive, MaxGamma = maxGamma ?? Math.Max(DefaultMaxGamma, gamma),
            Temperature = temperature, TopK = topK ?? 0, Seed = seed ?? 1,
        };
        try
        {
            options.Validate(config);
            if (draftModel is not null) new ModelDrafter(draftModel).Check(model);
        }
        catch (InvalidSettingsException e)
        {
            // The checks above cover the options; what is left is about the draft model (vocabulary, context, device).
            throw new MagicException($"--draft {draftName}: {e.Message}");
        }
        if (kind == DraftKind.M2R2) session.EnsureFree(AdaptersVariable(modelName, k), "--model or --k");
        return new Plan(modelName, model, kind, draftName, draftModel, k, steps, prompt, promptTokens, options, resultName);
    }

    static (DraftKind Kind, string Name, TinyGpt? Model) Draft(string? text, NotebookSession session, string modelName, TinyGpt model)
    {
        var name = (text ?? M2R2Draft).Trim();
        switch (name.ToLowerInvariant())
        {
            case M2R2Draft or "m2-r2":
                return (DraftKind.M2R2, M2R2Draft, null);
            case EarlyExitDraft or "early_exit" or "earlyexit":
                return (DraftKind.EarlyExit, EarlyExitDraft, null);
        }
        if (!session.TryFindModel<TinyGpt>(name, out var draft))
        {
            var others = session.ModelNames<TinyGpt>().Where(n => n != modelName).ToList();
            throw new MagicException($"--draft '{name}' is neither {M2R2Draft}, {EarlyExitDraft} nor a model of this notebook" +
                                     (others.Count > 0 ? $" (models: {string.Join(", ", others)})" : "") +
                                     $". Use --draft {M2R2Draft}, or make a draft model first, e.g. #!subclone or #!model --name {name}.");
        }
        if (ReferenceEquals(draft, model))
            throw new MagicException($"--draft {name} is the model being decoded: a draft model must be a second, cheaper one (e.g. made with #!subclone), " +
                                     $"or use --draft {M2R2Draft} to draft with the model's own first layers.");
        return (DraftKind.Model, name, draft);
    }

    /// <summary>γ: draft tokens proposed per round (the library checks it against the model's context).</summary>
    static int Gamma(string? text) => OptionValues.Int(text, "--gamma", DefaultGamma, min: 1, max: MaxGamma);

    /// <summary>The exit layer of self-drafting: the draft runs the first k of the model's layers and the full model checks it.</summary>
    static int K(string? text, int layers) => OptionValues.Int(text, "--k", Math.Max(1, layers / 2), min: 1, max: layers - 1,
        why: $"the draft runs the first k of the model's {layers} layers and the full model checks it");

    /// <summary>0 decodes greedily; above 0 samples.</summary>
    static double Temperature(string? text) => OptionValues.Double(text, "--temperature", 0, min: 0, max: 100, why: "0 decodes greedily, more samples");

    /// <summary>The start of the validation split: at most <see cref="DefaultPromptLength"/> bytes and half the context, ending before a space.</summary>
    public static string DefaultPrompt(TextCorpus corpus, int contextLength)
    {
        int limit = Math.Max(1, Math.Min(DefaultPromptLength, contextLength / 2));
        var prompt = corpus.ValidationExcerpt(0, limit);
        while (prompt.Length > 1 && corpus.Tokenizer.Encode(prompt).Length > limit) prompt = prompt[..^1];
        return prompt;
    }

    /// <summary>An exception's message without the "(Parameter 'x')" that .NET appends.</summary>


    static string Invariant(double value) => value.ToString("G", CultureInfo.InvariantCulture);
}
