using System.Text;
using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Speculative;

/// <summary>Settings of <see cref="TargetSizeStudy.Run"/>.</summary>
public sealed record TargetSizeOptions
{
    /// <summary>HyperCloning width factors of the targets (1 = the small model itself).</summary>
    public IReadOnlyList<int> WidthFactors { get; init; } = new[] { 1, 2, 4, 6 };

    /// <summary>Fixed draft lengths γ raced on every target (6 and 8 pay only where drafts are nearly free and always accepted).</summary>
    public IReadOnlyList<int> Gammas { get; init; } = new[] { 1, 2, 3, 4, 6, 8 };

    /// <summary>
    /// Also race each drafter with adaptive γ (<see cref="SpeculationOptions.AdaptiveGamma"/>: from γ = 4, or the largest of
    /// <see cref="Gammas"/> if smaller, up to the largest of <see cref="Gammas"/>).
    /// </summary>
    public bool AdaptiveGamma { get; init; } = true;

    /// <summary>
    /// Exits k at which every target's per-draft acceptance is measured (early exit, and M2R2 when accelerators are given),
    /// and for which the fine-tuned targets' accelerators are trained; empty: neither; null: 1 … 4, as far as the model's
    /// layers and the accelerators reach. Needs a corpus.
    /// </summary>
    public IReadOnlyList<int>? AcceleratorExits { get; init; }

    /// <summary>The exits <see cref="AcceleratorExits"/> names for a model of <paramref name="layers"/> layers and accelerators serving <paramref name="maxExit"/>.</summary>
    public IReadOnlyList<int> ExitsFor(int layers, int? maxExit) =>
        AcceleratorExits ?? Enumerable.Range(1, Math.Min(Math.Min(4, layers - 1), maxExit ?? int.MaxValue)).ToArray();

    /// <summary>
    /// Also race M2R2 drafting at every other exit of <see cref="AcceleratorExits"/> (given accelerators), with adaptive γ only,
    /// so only when <see cref="AdaptiveGamma"/> is on: what each exit depth pays, without a race per exit and γ.
    /// </summary>
    public bool RaceEveryExit { get; init; } = true;

    /// <summary>
    /// Training steps of M2R2 accelerators on each fine-tuned target, starting from the grown ones (0 = the grown ones
    /// unchanged). An exact-copy target needs none: the grown accelerators are exact for it.
    /// </summary>
    public int AcceleratorSteps { get; init; } = 60;

    /// <summary>Exit layer k of the early-exit self-drafter (0 = no early-exit drafter).</summary>
    public int ExitLayer { get; init; } = SpeculativeExperiments.ExitLayer;

    /// <summary>Training steps of the fine-tuned variant of each grown target (0 = no fine-tuned variant).</summary>
    public int FineTuneSteps { get; init; } = 40;

    /// <summary>Prompts decoded per repeat.</summary>
    public int Prompts { get; init; } = 2;

    /// <summary>New tokens per prompt.</summary>
    public int NewTokens { get; init; } = 64;

    /// <summary>Timed repeats of the race (after one warm-up pass).</summary>
    public int Repeats { get; init; } = 2;

    /// <summary>Timed calls per step in the cost measurements.</summary>
    public int CostRepeats { get; init; } = 20;

    /// <summary>Smaller settings for smoke runs and notebooks: ×1 and ×4, γ 1 and 3, one prompt, 10 fine-tuning steps.</summary>
    public static TargetSizeOptions Quick { get; } = new()
    {
        WidthFactors = new[] { 1, 4 }, Gammas = new[] { 1, 3 }, FineTuneSteps = 10, Prompts = 1, NewTokens = 32, Repeats = 1, CostRepeats = 8,
        AcceleratorSteps = 5,
    };

    /// <summary>
    /// The accelerators' training on a fine-tuned target: <see cref="AcceleratorSteps"/> steps of 4 × 128 bytes (fewer for a
    /// shorter context) at 1e-3, aligned at every exit of <see cref="AcceleratorExits"/> (short: they start from the grown
    /// accelerators, which are already close).
    /// </summary>
    public TrainingOptions AcceleratorTuning => new()
    {
        Steps = Math.Max(1, AcceleratorSteps), BatchSize = 4, BlockSize = 128, LearningRate = 1e-3, WarmupSteps = Math.Min(5, Math.Max(1, AcceleratorSteps) - 1),
        WeightDecay = 0, EvalEvery = Math.Max(1, AcceleratorSteps), EvalBatches = 1, Seed = 37,
    };

    /// <summary>
    /// The fine-tuning of a grown target: <see cref="FineTuneSteps"/> steps of 4 × 64 bytes (fewer for a shorter context) at
    /// 1e-4 (short, so it stays cheap at ×6; gentle, because AdamW's first steps move every weight by about the learning rate and a larger one damages the copy).
    /// </summary>
    public TrainingOptions FineTuning => new()
    {
        Steps = Math.Max(1, FineTuneSteps), BatchSize = 4, BlockSize = 64, LearningRate = 1e-4, WarmupSteps = Math.Min(5, Math.Max(1, FineTuneSteps) - 1),
        WeightDecay = 0, EvalEvery = Math.Max(1, FineTuneSteps), EvalBatches = 1, Seed = 31,
    };

    /// <summary>Checks the settings against the small model; throws <see cref="InvalidSettingsException"/> naming the fix.</summary>
    public TargetSizeOptions Validate(TinyGptConfig small)
    {
        if (WidthFactors is null || WidthFactors.Count == 0 || WidthFactors.Any(n => n < 1))
            throw new InvalidSettingsException("Give at least one width factor, each 1 or more (1 = the small model itself).");
        foreach (var n in WidthFactors.Where(n => n > 1)) HyperCloning.GrownConfig(small, n);
        if (Gammas is null || Gammas.Count == 0 || Gammas.Any(g => g < 1 || g > 16))
            throw new InvalidSettingsException("Give at least one γ, each in 1..16.");
        if (ExitLayer < 0 || ExitLayer >= small.Layers)
            throw new InvalidSettingsException($"The exit layer must lie in 1..{small.Layers - 1} (0 = no early-exit drafter), not {ExitLayer}.");
        if (FineTuneSteps < 0) throw new InvalidSettingsException($"FineTuneSteps cannot be negative (got {FineTuneSteps}); 0 skips the fine-tuned targets.");
        if (AcceleratorSteps < 0) throw new InvalidSettingsException($"AcceleratorSteps cannot be negative (got {AcceleratorSteps}); 0 keeps the grown accelerators.");
        if (AcceleratorExits is not null && (AcceleratorExits.Any(k => k < 1 || k >= small.Layers) || AcceleratorExits.Distinct().Count() != AcceleratorExits.Count))
            throw new InvalidSettingsException($"AcceleratorExits must be distinct exits in 1..{small.Layers - 1} (empty: no per-exit acceptance; null: 1..4).");
        if (Prompts < 1 || NewTokens < 2 || Repeats < 1 || CostRepeats < 1)
            throw new InvalidSettingsException("Prompts, Repeats and CostRepeats must be at least 1 and NewTokens at least 2.");
        return this;
    }
}

/// <summary>What one drafter's steps cost on one target (milliseconds, medians of interleaved calls).</summary>
/// <param name="Drafter">The drafter's name.</param>
/// <param name="Step">One draft step (the draft's forward for one token, the head, argmax).</param>
/// <param name="Verify">Per γ: one verification of γ drafts: the target's pass over γ + 1 tokens (for a self-drafter, the last
/// draft through the first k blocks, then blocks k..L over γ + 1 tokens and the head).</param>
public sealed record DrafterCosts(string Drafter, double Step, IReadOnlyDictionary<int, double> Verify);

/// <summary>What steps cost on one target, measured at a fixed position.</summary>
/// <param name="Target">"×n" or "×n fine-tuned".</param>
/// <param name="WidthFactor">n.</param>
/// <param name="Parameters">Parameters of the target.</param>
/// <param name="PlainStep">One plain cached decoding step of the target (one token, head, argmax), in milliseconds.</param>
/// <param name="Drafters">Each drafter's step and verification costs.</param>
/// <param name="MaxLogitDifference">max |Δlogit| between the grown target and the small model on HyperCloning's probe, before any fine-tuning (0 for ×1).</param>
public sealed record TargetCosts(string Target, int WidthFactor, long Parameters, double PlainStep, IReadOnlyList<DrafterCosts> Drafters, double MaxLogitDifference)
{
    /// <summary>The costs of the drafter named <paramref name="drafter"/>.</summary>
    public DrafterCosts Of(string drafter) => Drafters.First(d => d.Drafter == drafter);
}

/// <summary>One target × drafter × γ: measured and predicted.</summary>
/// <param name="Target">"×n" or "×n fine-tuned".</param>
/// <param name="WidthFactor">n.</param>
/// <param name="FineTuned">Whether the target was trained after growing (so no longer an exact copy of the draft).</param>
/// <param name="Parameters">Parameters of the target.</param>
/// <param name="Drafter">The drafter's name.</param>
/// <param name="Gamma">γ.</param>
/// <param name="PlainTokensPerSecond">Plain cached greedy decoding of the target.</param>
/// <param name="TokensPerSecond">Speculative decoding of the target.</param>
/// <param name="SpeedUp">Measured: median of per-repeat ratios over plain.</param>
/// <param name="Acceptance">Share of drafts accepted.</param>
/// <param name="TokensPerRound">Tokens per target pass, measured.</param>
/// <param name="Alpha">The per-draft acceptance probability α of the cost model that gives the measured tokens per pass
/// (acceptance comes in runs, so the plain share of drafts accepted understates what a round yields).</param>
/// <param name="DraftCost">One draft step in plain steps of this target.</param>
/// <param name="VerifyCost">One verification pass in plain steps of this target.</param>
/// <param name="PredictedSpeedUp">The cost model's speed-up from the measured acceptance and step costs.</param>
/// <param name="Adaptive">γ adapted round by round (up to <paramref name="Gamma"/>); the costs are then those of the mean γ.</param>
/// <param name="MeanGamma">Drafts per round, measured (below γ only in the rounds cut short by the token budget, unless adaptive).</param>
public sealed record TargetSizePoint(string Target, int WidthFactor, bool FineTuned, long Parameters, string Drafter, int Gamma,
    double PlainTokensPerSecond, double TokensPerSecond, double SpeedUp, double Acceptance, double TokensPerRound, double Alpha,
    double DraftCost, double VerifyCost, double PredictedSpeedUp, bool Adaptive = false, double MeanGamma = 0)
{
    /// <summary>"3", or "adaptive ≤ 8 (mean 5.2)".</summary>
    public string GammaLabel => Adaptive ? $"adaptive ≤ {Gamma} (mean {MeanGamma:F1})" : Gamma.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The result of <see cref="TargetSizeStudy.Run"/>: every point, every target's step costs, the fine-tuning runs, each target's
/// per-draft acceptance at every exit of <see cref="TargetSizeOptions.AcceleratorExits"/>, and the accelerators' training runs
/// on the fine-tuned targets.
/// </summary>
public sealed record TargetSizeStudyResult(TargetSizeOptions Options, IReadOnlyList<TargetSizePoint> Points, IReadOnlyList<TargetCosts> Costs,
    IReadOnlyList<TrainingRun> FineTuning, IReadOnlyList<ExitAcceptancePoint>? ExitAcceptance = null, IReadOnlyList<TrainingRun>? AcceleratorTuning = null)
{
    /// <summary>The speed-up over plain decoding that the M2R2 paper reports, for comparison.</summary>
    public const double PaperSpeedUp = 2.8;

    /// <summary>Drafter names in order of appearance.</summary>
    public IReadOnlyList<string> Drafters => Points.Select(p => p.Drafter).Distinct().ToList();

    /// <summary>The best measured point (highest speed-up).</summary>
    public TargetSizePoint Best => Points.MaxBy(p => p.SpeedUp)!;

    /// <summary>
    /// The smallest width factor at which <paramref name="drafter"/> (exact-copy targets unless <paramref name="fineTuned"/>),
    /// at its best γ there, measures a speed-up of 1 or more; null if it never does.
    /// </summary>
    public int? CrossesOneAt(string drafter, bool fineTuned = false) => Points
        .Where(p => p.Drafter == drafter && p.FineTuned == fineTuned)
        .GroupBy(p => p.WidthFactor).OrderBy(g => g.Key)
        .FirstOrDefault(g => g.Max(p => p.SpeedUp) >= 1)?.Key;

    /// <summary>A plain-text table: one line per point, then the costs and the crossing points.</summary>
    public string ToTable()
    {
        var s = new StringBuilder();
        s.AppendLine($"{"target",-16} {"params",11} {"drafter",-24} {"γ",2} {"plain t/s",9} {"spec t/s",9} {"ratio",6} {"pred",6} {"accept",7} {"α",5} {"tok/pass",8} {"draft",6} {"verify",6}");
        foreach (var p in Points)
            s.AppendLine($"{p.Target,-16} {p.Parameters,11:N0} {p.Drafter,-24} {(p.Adaptive ? $"a{p.Gamma}" : p.Gamma.ToString()),2} {p.PlainTokensPerSecond,9:F1} {p.TokensPerSecond,9:F1} {p.SpeedUp,5:F2}× {p.PredictedSpeedUp,5:F2}× {p.Acceptance,7:P1} {p.Alpha,5:F2} {p.TokensPerRound,8:F2} {p.DraftCost,6:F3} {p.VerifyCost,6:F2}");
        s.AppendLine("step costs (ms): the target's plain step; per drafter one draft step and the verification of γ drafts");
        foreach (var c in Costs)
            s.AppendLine($"  {c.Target,-16} plain {c.PlainStep:F3} ({c.Parameters:N0} parameters; max |Δlogit| vs small before tuning {c.MaxLogitDifference:G2}); " +
                string.Join("; ", c.Drafters.Select(d => $"{d.Drafter}: step {d.Step:F3}, verify " + string.Join(" ", d.Verify.Select(v => $"γ={v.Key} {v.Value:F3}")))));
        foreach (var d in Drafters)
            foreach (var tuned in Points.Select(p => p.FineTuned).Distinct())
                s.AppendLine($"{d}{(tuned ? ", fine-tuned targets" : "")}: crosses 1× at " + (CrossesOneAt(d, tuned) is int n ? $"width ×{n}" : "no width measured"));
        if (Points.Any(p => p.Adaptive)) s.AppendLine("γ = aN: adaptive γ up to N");
        if (ExitAcceptance is { Count: > 0 }) s.Append(ExitAcceptancePoint.Table(ExitAcceptance));
        s.AppendLine($"paper (M2R2): {PaperSpeedUp}×; best here {Best.SpeedUp:F2}× ({Best.Drafter}, {Best.Target}, γ={Best.GammaLabel})");
        return s.ToString();
    }
}

/// <summary>
/// Where speculative decoding pays: the pretrained model grown by HyperCloning to several widths computes the same
/// function, so a draft keeps its acceptance while a target step's cost grows with the width. For every target it races
/// plain cached greedy decoding against drafting by the original small model (an exact function copy of a grown target,
/// so nearly every draft is accepted; a briefly fine-tuned grown target shows what a real gap costs), by the target's own
/// first k blocks (early exit) and, given accelerators trained on the small model, by M2R2 with those accelerators grown
/// the way HyperCloning grows the model (<see cref="GrowAccelerators"/>; exact for an exact-copy target; for a fine-tuned
/// one, whose layer-k states have moved, a start that is then trained on it), at fixed and adaptive γ, and M2R2 at the other
/// exits with adaptive γ. It measures each step's cost and predicts the speed-up with <see cref="SpeculationMath"/>, and
/// measures each target's per-draft acceptance at every exit (<see cref="ExitAcceptancePoint"/>). Every speculative output
/// is checked against plain greedy decoding of the same target.
/// </summary>
public static class TargetSizeStudy
{
    /// <summary>
    /// Runs the study with <paramref name="small"/> as source and draft, on <paramref name="prompts"/>;
    /// <paramref name="corpus"/> is needed only for the fine-tuned targets (null skips them); <paramref name="accelerators"/>
    /// (optional, trained on <paramref name="small"/> for the exit layer) add the M2R2 drafter.
    /// </summary>
    /// <exception cref="InvalidOperationException">A speculative output differed from plain greedy decoding.</exception>
    public static TargetSizeStudyResult Run(TinyGpt small, IReadOnlyList<int[]> prompts, TextCorpus? corpus, TargetSizeOptions? options = null,
        AcceleratorAdapters? accelerators = null, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(small);
        var o = (options ?? new TargetSizeOptions()).Validate(small.Config);
        if (prompts is null || prompts.Count == 0) throw new InvalidSettingsException("Give at least one prompt.");
        var exits = o.ExitsFor(small.Config.Layers, accelerators?.MaxExit);
        if (accelerators is not null)
        {
            if (o.ExitLayer == 0) throw new InvalidSettingsException("M2R2 drafts at the exit layer: set ExitLayer (1..L−1) to use accelerators.");
            accelerators.CheckFor(small.Config, o.ExitLayer);
            if (exits.FirstOrDefault(k => k > accelerators.MaxExit) is int deep and > 0)
                throw new InvalidSettingsException($"The accelerators serve exits 1..{accelerators.MaxExit}, not {deep}: make them with a deeper MaxExit or leave {deep} out of AcceleratorExits.");
        }
        prompts = prompts.Take(o.Prompts).ToList();
        small.eval();
        var points = new List<TargetSizePoint>();
        var costs = new List<TargetCosts>();
        var runs = new List<TrainingRun>();
        var exitPoints = new List<ExitAcceptancePoint>();
        var acceleratorRuns = new List<TrainingRun>();
        foreach (int n in o.WidthFactors)
            foreach (bool tuned in n > 1 && o.FineTuneSteps > 0 && corpus is not null ? new[] { false, true } : new[] { false })
            {
                cancellation.ThrowIfCancellationRequested();
                string name = tuned ? $"×{n} fine-tuned" : $"×{n}";
                double logitGap = 0;
                TinyGpt target = small;
                AcceleratorAdapters? grownAccelerators = null;
                if (n > 1)
                {
                    var grown = HyperCloning.Expand(small, n, cancellation: cancellation);
                    target = grown.Model;
                    logitGap = grown.Report.MaxLogitDifference;
                    if (tuned)
                    {
                        var fineTuning = o.FineTuning with { BlockSize = Math.Min(o.FineTuning.BlockSize, target.Config.ContextLength) };
                        double before = LanguageModelTraining.Evaluate(target, corpus!, batchSize: fineTuning.BatchSize, blockSize: fineTuning.BlockSize, maxBatches: fineTuning.EvalBatches);
                        var run = LanguageModelTraining.Train(target, corpus!, fineTuning, $"fine-tuning {name}", cancellation: cancellation);
                        runs.Add(run);
                        log?.Invoke($"{name}: validation loss before fine-tuning {before:F3}; {run}");
                    }
                    target.eval();
                    if (accelerators is not null) grownAccelerators = GrowAccelerators(accelerators, n);
                }
                var drafters = new List<Drafter> { new ModelDrafter(small, $"small model ({small.Config.Layers}×{small.Config.Dim})") };
                if (o.ExitLayer > 0) drafters.Add(new SelfDrafter(o.ExitLayer));
                if (accelerators is not null) drafters.Add(new SelfDrafter(o.ExitLayer, grownAccelerators ?? accelerators));
                var adaptiveOnly = accelerators is not null && o.RaceEveryExit && o.AdaptiveGamma
                    ? exits.Where(k => k != o.ExitLayer).Select(k => (Drafter)new SelfDrafter(k, grownAccelerators ?? accelerators)).ToList()
                    : new List<Drafter>();
                drafters.AddRange(adaptiveOnly);
                try
                {
                    if (corpus is not null && exits.Count > 0)
                    {
                        // Trained accelerators only for a fine-tuned target: for an exact copy the grown ones are exact.
                        var tuning = tuned && grownAccelerators is not null && o.AcceleratorSteps > 0 ? o.AcceleratorTuning : null;
                        var (acceptance, run) = ExitAcceptancePoint.Measure(target, name, n, tuned, corpus, exits, grownAccelerators ?? accelerators, tuning, cancellation);
                        exitPoints.AddRange(acceptance);
                        if (run is not null)
                        {
                            acceleratorRuns.Add(run);
                            log?.Invoke($"{name}: accelerators trained on this target: {run}");
                        }
                        log?.Invoke($"{name}: per-draft acceptance " + string.Join("; ", acceptance.Select(a => a.Summary)));
                    }
                    var cost = Measure(target, small, name, n, drafters, prompts[0], o, logitGap);
                    costs.Add(cost);
                    log?.Invoke($"{name}: plain step {cost.PlainStep:F3} ms; " + string.Join("; ", cost.Drafters.Select(d => $"{d.Drafter} step {d.Step:F3} ms")));
                    points.AddRange(Race(target, drafters, adaptiveOnly, name, n, tuned, cost, prompts, o, log, cancellation));
                }
                finally
                {
                    foreach (var d in drafters) d.Dispose();
                    grownAccelerators?.Dispose();
                    if (!ReferenceEquals(target, small)) target.Dispose();
                }
            }
        return new TargetSizeStudyResult(o, points, costs, runs, exitPoints, acceleratorRuns);
    }

    /// <summary>
    /// M2R2 accelerators for the ×<paramref name="widthFactor"/> HyperCloned model, grown as HyperCloning grows a model: the
    /// grown slow state is n copies of the small one, so each adapter's norm is tiled, its down-projection reads the n copies
    /// at 1/n each and its up-projection writes n copies. The grown fast state is then n copies of the small one, and the
    /// grown model's head reads the same draft from it as the small model's head from the small fast state.
    /// </summary>
    public static AcceleratorAdapters GrowAccelerators(AcceleratorAdapters accelerators, int widthFactor)
    {
        ArgumentNullException.ThrowIfNull(accelerators);
        if (widthFactor < 2) throw new InvalidSettingsException($"Grow accelerators by an integer factor of 2 or more, not {widthFactor}.");
        int n = widthFactor;
        var grown = new AcceleratorAdapters(accelerators.Dim * n, accelerators.MaxExit, accelerators.Rank);
        var device = accelerators.adapters[0].down.weight!.device;
        grown.to(device);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        for (int i = 0; i < accelerators.MaxExit; i++)
        {
            var (a, b) = (accelerators.adapters[i], grown.adapters[i]);
            b.norm.weight!.copy_(a.norm.weight!.repeat(n));
            b.norm.bias!.copy_(a.norm.bias!.repeat(n));
            b.down.weight!.copy_(HyperCloning.Widen(a.down.weight!, 1, n));                 // (r, n·C): n input copies at 1/n
            b.down.bias!.copy_(a.down.bias!);
            b.up.weight!.copy_(HyperCloning.Widen(a.up.weight!, n, 1));                     // (n·C, r): n output copies
            b.up.bias!.copy_(a.up.bias!.repeat(n));
        }
        grown.train(accelerators.training);
        return grown;
    }

    /// <summary>
    /// The cost model's speed-up: expected tokens per round at acceptance <paramref name="alpha"/> and γ drafts, over the
    /// round's cost (γ draft steps and one verification, all in milliseconds) in plain steps.
    /// </summary>
    public static double Predict(double alpha, int gamma, double plainStep, double draftStep, double verify)
    {
        if (plainStep <= 0) throw new InvalidSettingsException("A plain step takes a positive time.");
        return SpeculationMath.PredictedSpeedUp(alpha, gamma, draftStep / plainStep, verify / plainStep);
    }

    /// <summary>
    /// The α at which <see cref="SpeculationMath.ExpectedTokensPerRound"/> equals <paramref name="tokensPerRound"/> for γ drafts
    /// (clamped to 0..1; found by bisection, the expectation growing with α).
    /// </summary>
    public static double ImpliedAlpha(double tokensPerRound, int gamma)
    {
        if (gamma < 1) throw new InvalidSettingsException($"γ must be at least 1, not {gamma}.");
        if (!(tokensPerRound > 1)) return 0;
        if (tokensPerRound >= gamma + 1) return 1;
        double low = 0, high = 1;
        for (int i = 0; i < 60; i++)
        {
            double mid = (low + high) / 2;
            if (SpeculationMath.ExpectedTokensPerRound(mid, gamma) < tokensPerRound) low = mid; else high = mid;
        }
        return (low + high) / 2;
    }

    /// <summary>
    /// The verification cost at a mean draft length <paramref name="gamma"/> (adaptive γ), interpolated linearly between the
    /// measured draft lengths (held at the nearest end outside them).
    /// </summary>
    public static double VerifyAt(IReadOnlyDictionary<int, double> verify, double gamma)
    {
        if (verify is null || verify.Count == 0) throw new InvalidSettingsException("No verification cost was measured.");
        var known = verify.OrderBy(v => v.Key).ToList();
        if (gamma <= known[0].Key) return known[0].Value;
        if (gamma >= known[^1].Key) return known[^1].Value;
        int i = known.FindIndex(v => v.Key >= gamma);
        var (a, b) = (known[i - 1], known[i]);
        return a.Value + (b.Value - a.Value) * (gamma - a.Key) / (b.Key - a.Key);
    }

    static IEnumerable<TargetSizePoint> Race(TinyGpt target, IReadOnlyList<Drafter> all, IReadOnlyList<Drafter> adaptiveOnly, string name, int n, bool tuned,
        TargetCosts cost, IReadOnlyList<int[]> prompts, TargetSizeOptions o, Action<string>? log, CancellationToken cancellation)
    {
        var points = new List<TargetSizePoint>();
        int largest = o.Gammas.Max();
        var settings = o.Gammas.Select(g => new SpeculationOptions { MaxNewTokens = o.NewTokens, Gamma = g }).ToList();
        if (o.AdaptiveGamma)
            settings.Add(new SpeculationOptions { MaxNewTokens = o.NewTokens, Gamma = Math.Min(4, largest), AdaptiveGamma = true, MaxGamma = largest });
        foreach (var options in settings)
        {
            int gamma = options.AdaptiveGamma ? options.MaxGamma : options.Gamma;
            var drafters = options.AdaptiveGamma ? all : all.Except(adaptiveOnly).ToList();
            string label = options.AdaptiveGamma ? $"adaptive γ≤{gamma}" : $"γ={gamma}";
            var lines = SpeculativeExperiments.Race(target, drafters, prompts, options, o.Repeats, s => log?.Invoke($"{name} {label} {s}"), cancellation);
            var plain = lines[0];
            for (int d = 0; d < drafters.Count; d++)
            {
                var l = lines[d + 1];
                if (!l.SameAsPlain)
                    throw new InvalidOperationException($"Speculative decoding of {name} with {l.Method} at {label} differed from plain greedy decoding: it must be lossless.");
                var c = cost.Of(drafters[d].Name);
                // Fixed γ: the costs of γ drafts and the model's expected yield. Adaptive: the costs of the mean γ the rounds
                // drafted and their measured yield (the model's yield assumes one γ).
                double drafts = options.AdaptiveGamma ? l.MeanGamma : gamma, verify = options.AdaptiveGamma ? VerifyAt(c.Verify, l.MeanGamma) : c.Verify[gamma];
                double alpha = ImpliedAlpha(l.MeanAcceptedLength, Math.Max(1, (int)Math.Round(drafts)));
                double predicted = options.AdaptiveGamma
                    ? l.MeanAcceptedLength / ((drafts * c.Step + verify) / cost.PlainStep)
                    : Predict(alpha, gamma, cost.PlainStep, c.Step, verify);
                points.Add(new TargetSizePoint(name, n, tuned, cost.Parameters, l.Method, gamma, plain.TokensPerSecond, l.TokensPerSecond, l.SpeedUp,
                    l.AcceptanceRate, l.MeanAcceptedLength, alpha, c.Step / cost.PlainStep, verify / cost.PlainStep, predicted, options.AdaptiveGamma, l.MeanGamma));
            }
        }
        return points;
    }

    /// <summary>
    /// Times each step the cost model needs, interleaved, with the caches holding the prompt and its greedy continuation up to
    /// half of <see cref="TargetSizeOptions.NewTokens"/> (a typical position of the race).
    /// </summary>
    static TargetCosts Measure(TinyGpt target, TinyGpt small, string name, int n, IReadOnlyList<Drafter> drafters, int[] prompt, TargetSizeOptions o, double logitGap)
    {
        var c = target.Config;
        int maxGamma = o.Gammas.Max();
        var context = prompt.Concat(target.Generate(prompt, new GenerationOptions { MaxNewTokens = o.NewTokens / 2 })).ToArray();
        context = context[^Math.Min(context.Length, c.ContextLength - maxGamma - 2)..];
        int p = context.Length - 1;                                          // positions the caches hold; the last token is fed
        using var targetCache = target.CreateCache();
        using var smallCache = small.CreateCache();
        using var _ = inference_mode();
        using var ids = tensor(context.Select(t => (long)t).ToArray(), device: target.Device).unsqueeze(0).DetachFromDisposeScope();
        using (NewDisposeScope())
        {
            target.Hidden(ids.narrow(1, 0, p), targetCache);
            small.Hidden(ids.narrow(1, 0, p), smallCache);
        }
        using var one = ids.narrow(1, p, 1).DetachFromDisposeScope();
        var feeds = o.Gammas.ToDictionary(g => g, g => full(1, g + 1, context[^1], dtype: ScalarType.Int64, device: target.Device).DetachFromDisposeScope()); // any γ + 1 tokens: the cost does not depend on which
        var stacks = new List<IDisposable>();
        try
        {
            var runs = new List<Action> { () => Step(targetCache, p, () => target.Logits(target.Hidden(one, targetCache).select(1, -1))[0].argmax().item<long>()) };
            var slots = new List<(int Drafter, int Gamma)> { (-1, 0) };
            for (int d = 0; d < drafters.Count; d++)
            {
                Action draft;
                Func<int, Action> verify;
                if (drafters[d] is SelfDrafter self)
                {
                    int k = self.ExitLayer;
                    var stacked = self.Adapters?.Stack(k);
                    if (stacked is not null) stacks.Add(stacked);
                    Tensor Shallow()                                            // the draft's state for one token, as SelfDrafter makes it
                    {
                        if (stacked is null) return target.Hidden(one, targetCache, k);
                        var taps = new Tensor[k + 1];
                        target.Hidden(one, targetCache, k, (i, s) => taps[i] = s);
                        return stacked.Fast(taps);
                    }
                    draft = () => Step(targetCache, p, () => target.Logits(Shallow().select(1, -1))[0].argmax().item<long>());
                    verify = g => () => Step(targetCache, p, () =>
                    {
                        Shallow();
                        var states = zeros(1, g + 1, c.Dim, device: target.Device);
                        target.Logits(target.RunLayers(states, targetCache, k, c.Layers, p))[0].argmax(-1).cpu().data<long>().ToArray();
                    });
                }
                else
                {
                    draft = () => Step(smallCache, p, () => small.Logits(small.Hidden(one, smallCache).select(1, -1))[0].argmax().item<long>());
                    verify = g => () => Step(targetCache, p, () => target.Forward(feeds[g], targetCache)[0].argmax(-1).cpu().data<long>().ToArray());
                }
                runs.Add(draft);
                slots.Add((d, 0));
                foreach (int g in o.Gammas)
                {
                    runs.Add(verify(g));
                    slots.Add((d, g));
                }
            }
            var ms = Latency.Medians(runs, o.CostRepeats, warmup: 2);
            var costs = drafters.Select((x, d) => new DrafterCosts(x.Name, ms[slots.IndexOf((d, 0))],
                o.Gammas.ToDictionary(g => g, g => ms[slots.IndexOf((d, g))]))).ToList();
            return new TargetCosts(name, n, target.ParameterCount, ms[0], costs, logitGap);
        }
        finally
        {
            foreach (var s in stacks) s.Dispose();
            foreach (var f in feeds.Values) f.Dispose();
        }
    }

    /// <summary>Runs one step on a cache holding <paramref name="length"/> positions, then forgets what it added.</summary>
    static void Step(KvCache cache, int length, Action step)
    {
        using (NewDisposeScope()) step();
        cache.Rollback(length);
    }
}
