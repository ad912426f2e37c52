using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientML.Core;

/// <summary>
/// The training loop every technique uses: AdamW (matrices decayed, biases and norms not), linear warmup then
/// cosine decay, global gradient-norm clipping, periodic evaluation. Each step runs in its own dispose scope so
/// native memory stays flat; cancellation is honoured between steps. A NaN or infinite loss, gradient norm, weight or
/// batch-norm statistic stops the run with <see cref="TrainingOutcome.Diverged"/>, and the model is put back to weights
/// and statistics that were still finite (<see cref="ModelSnapshot"/>): before the step whose gradients or update broke
/// them, or, when the loss itself is not finite, before the previous step, whose update produced the weights that gave it.
/// </summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="model"/> for <see cref="TrainingOptions.Steps"/> steps.
    /// <paramref name="lossForStep"/> builds the scalar loss of one batch for the given step (0-based);
    /// <paramref name="evaluate"/> returns a validation loss (it runs in eval mode without gradients).
    /// <paramref name="progress"/> is called after every step and evaluation with the growing record.
    /// </summary>
    public static TrainingRun Run(
        nn.Module model,
        Func<int, Tensor> lossForStep,
        TrainingOptions options,
        long tokensPerStep,
        Func<double>? evaluate = null,
        string name = "training",
        Action<TrainingRun>? progress = null,
        CancellationToken cancellation = default)
    {
        return Run(model, lossForStep, new TrainingRun(name, options, tokensPerStep), evaluate, progress, cancellation);
    }

    /// <summary>
    /// Trains into a record made beforehand (with its options and tokens per step), so a caller can hand it out,
    /// and subscribe to <see cref="TrainingRun.Updated"/>, before the first step. A record trains once.
    /// </summary>
    /// <remarks>
    /// <paramref name="learningRateScale"/> multiplies the learning rate of each parameter by a factor chosen from its
    /// name (e.g. fresh routers learning faster than pretrained weights); null: the same rate for all.
    /// </remarks>
    public static TrainingRun Run(
        nn.Module model,
        Func<int, Tensor> lossForStep,
        TrainingRun run,
        Func<double>? evaluate = null,
        Action<TrainingRun>? progress = null,
        CancellationToken cancellation = default,
        Func<string, double>? learningRateScale = null) =>
        Run(model, lossForStep, backwardDone: false, run, evaluate, progress, cancellation, learningRateScale);

    /// <summary>
    /// Like <see cref="Run(nn.Module, Func{int, Tensor}, TrainingRun, Func{double}?, Action{TrainingRun}?, CancellationToken, Func{string, double}?)"/>
    /// for a step that computes its own gradients (e.g. through a custom two-stage backward) and returns the loss, detached.
    /// A NaN or infinite loss still stops the run before the optimizer touches the weights.
    /// </summary>
    public static TrainingRun RunWithOwnBackward(
        nn.Module model,
        Func<int, Tensor> lossAndGradients,
        TrainingRun run,
        Func<double>? evaluate = null,
        Action<TrainingRun>? progress = null,
        CancellationToken cancellation = default) =>
        Run(model, lossAndGradients, backwardDone: true, run, evaluate, progress, cancellation);

    static TrainingRun Run(nn.Module model, Func<int, Tensor> lossForStep, bool backwardDone, TrainingRun run,
        Func<double>? evaluate, Action<TrainingRun>? progress, CancellationToken cancellation, Func<string, double>? learningRateScale = null)
    {
        if (run.Outcome != TrainingOutcome.Running || run.Steps.Count > 0)
            throw new EfficientMLException($"The training record '{run.Name}' has already been used; make a new one for each run.");
        if (progress != null) run.Updated += progress;
        try
        {
            Loop(model, lossForStep, backwardDone, run.Options, evaluate, run, cancellation, learningRateScale ?? (_ => 1.0));
        }
        finally
        {
            if (progress != null) run.Updated -= progress;
            NativeHeap.Trim(); // activations and gradients are freed by now; give their pages back (see NativeHeap)
        }
        return run;
    }

    static void Loop(nn.Module model, Func<int, Tensor> lossForStep, bool backwardDone, TrainingOptions o, Func<double>? evaluate, TrainingRun run,
        CancellationToken cancellation, Func<string, double> learningRateScale)
    {
        ModelHealth.EnsureFinite(model, "train");
        var parameters = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        // One group per (decayed or not, learning-rate factor): matrices are decayed, biases and norms not.
        var groups = new List<AdamW.ParamGroup>();
        var scales = new List<double>();
        foreach (var g in parameters.GroupBy(p => (Decayed: p.parameter.dim() >= 2, Scale: learningRateScale(p.name))).OrderBy(g => !g.Key.Decayed).ThenBy(g => g.Key.Scale))
        {
            if (!(g.Key.Scale > 0) || double.IsInfinity(g.Key.Scale))
                throw new InvalidSettingsException($"Learning-rate factors must be positive and finite; '{g.First().name}' got {g.Key.Scale}.");
            groups.Add(new(g.Select(p => p.parameter).ToList(),
                new AdamW.Options { weight_decay = g.Key.Decayed ? o.WeightDecay : 0, beta1 = o.Beta1, beta2 = o.Beta2 }));
            scales.Add(g.Key.Scale);
        }
        using var optimizer = optim.AdamW(groups, o.LearningRate, o.Beta1, o.Beta2, weight_decay: o.WeightDecay);
        var clipped = parameters.Select(p => p.parameter).ToList();
        // Two snapshots, alternating: the state before this step and the state before the previous one.
        using var evenSteps = new ModelSnapshot(model);
        using var oddSteps = new ModelSnapshot(model);
        var clock = Stopwatch.StartNew();
        using var onCancel = cancellation.Register(run.MarkCancelRequested);
        if (evaluate != null && o.EvalAtStart) run.Add(new EvaluationPoint(0, Evaluate(model, evaluate)));
        model.train();
        for (int step = 0; step < o.Steps; step++)
        {
            if (cancellation.IsCancellationRequested)
            {
                run.Finish(TrainingOutcome.Cancelled, $"Cancelled after {step} of {o.Steps} steps; the model keeps the weights of step {step}.");
                model.eval();
                return;
            }
            var lr = o.LearningRateAt(step);
            int index = 0;
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr * scales[index++];
            var started = clock.Elapsed;
            double lossValue;
            double? norm = null;
            var before = step % 2 == 0 ? evenSteps : oddSteps;
            before.Save(); // before the forward pass, which already moves batch-norm running statistics
            string? broken = null;
            bool lossBroke = false;
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                var loss = lossForStep(step);
                lossValue = loss.item<float>();
                if (!double.IsFinite(lossValue)) (broken, lossBroke) = ($"the loss became {Describe(lossValue)}", true);
                else
                {
                    if (!backwardDone) loss.backward();
                    if (o.GradientClip > 0)
                    {
                        norm = nn.utils.clip_grad_norm_(clipped, o.GradientClip);
                        if (!double.IsFinite(norm.Value)) broken = $"the gradient norm became {Describe(norm.Value)}";
                    }
                    if (broken == null)
                    {
                        optimizer.step();
                        if (!before.LiveIsFinite()) broken = "the update made a weight or a batch-norm statistic NaN or infinite";
                    }
                }
            }
            if (broken != null)
            {
                // A non-finite loss indicts the weights the previous update made: go back before that update too.
                int kept = lossBroke && step > 0 ? step - 1 : step;
                (kept == step ? before : step % 2 == 0 ? oddSteps : evenSteps).Restore();
                run.Finish(TrainingOutcome.Diverged,
                    $"Stopped at step {step}: {broken} (learning rate {lr:G3}). " +
                    "Lower the learning rate, keep gradient clipping on, or check the inputs; " +
                    $"the weights and batch-norm statistics are back to those after {kept} step{(kept == 1 ? "" : "s")}, all finite.");
                model.eval();
                return;
            }
            var seconds = Math.Max(1e-9, (clock.Elapsed - started).TotalSeconds);
            run.Add(new TrainingStep(step + 1, lossValue, lr, run.TokensPerStep / seconds, clock.Elapsed, norm));
            bool last = step == o.Steps - 1;
            if (evaluate != null && (last || (o.EvalEvery > 0 && (step + 1) % o.EvalEvery == 0)))
                run.Add(new EvaluationPoint(step + 1, Evaluate(model, evaluate)));
        }
        model.eval();
        run.Finish(TrainingOutcome.Completed, "");
    }

    static string Describe(double value) => double.IsNaN(value) ? "NaN" : "infinite";

    /// <summary>Runs <paramref name="evaluate"/> in eval mode without gradients, then restores the mode.</summary>
    public static double Evaluate(nn.Module model, Func<double> evaluate)
    {
        using var evalMode = new EvalMode(model);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return evaluate();
    }
}
