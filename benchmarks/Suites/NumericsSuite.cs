using EfficientML.Core;
using EfficientML.Core.Numerics;
using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// What keeping float32 right costs on this CPU: the start-up numerics check, and the speech models' convolutions on
/// ATen's own kernels (what the check switches to where oneDNN computes wrong values) against oneDNN's, timed in turn in
/// one run. Where oneDNN is right, the check leaves it on and the fix costs nothing; the ratio says what it would cost.
/// Then notebook 06's RepCNN training recipe, repeated with the same seed, as it runs in this process: every run must
/// finish without diverging, and every run must give the same weights.
/// </summary>
public sealed class NumericsSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "numerics";

    /// <inheritdoc />
    public string Description => "start-up float32 check; convolution cost of switching oneDNN off (RepCNN, BC-ResNet); notebook 06's RepCNN recipe repeated (no NaN)";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        var environment = NumericsEnvironment.Collect();
        log.Write(environment.ToText());
        var check = environment.Check;
        var rows = new List<Measurement>
        {
            new("start-up check, as this process runs", check.Final.Elapsed.TotalMilliseconds, "ms",
                Note: $"{check.Final.Checks.Count} float32 operations against float64; {(check.Final.Passed ? "all right" : $"{check.Final.Failures.Count} WRONG")}; {environment.Cpu.Name}, {environment.Cpu.Summary}"),
        };
        if (check.WithOneDnn is { } before)
            rows.Add(new("start-up check with oneDNN on (before switching it off)", before.Elapsed.TotalMilliseconds, "ms",
                Note: $"{before.Failures.Count} of {before.Checks.Count} wrong: {string.Join("; ", before.Failures.Select(f => $"{f.Operation} {f.Shape}"))}"));
        if (!OneDnn.SwitchAvailable)
        {
            log.WriteLine("oneDNN cannot be switched from .NET with this libtorch: no cost to measure.");
            return rows;
        }
        string verdict = check.OneDnnSwitchedOff ? "oneDNN's results are WRONG on this CPU; the check switched it off"
            : check.Mode == "auto" ? "oneDNN is right on this CPU and stays on: the fix is not applied here" : $"mode {check.Mode}";
        int repeats = quick ? 5 : 30;
        bool kept = OneDnn.Enabled == true;
        try
        {
            using var _ = NewDisposeScope();
            var repcnn = new RepCnn(new RepCnnConfig(), seed: 1);
            var bcResNet = new BcResNet(BcResNetConfig.Scaled(1, 12), seed: 1);
            var batch = randn([64, 40, 98], generator: new Generator(1));
            var labels = randint(0, 12, [64], generator: new Generator(2), dtype: ScalarType.Int64);
            var window = batch[..1];
            var folded = Reparameterization.Copy(repcnn).Reparameterize();
            void Step(nn.Module<Tensor, Tensor> model)
            {
                using var scope = NewDisposeScope();
                model.train();
                model.zero_grad();
                nn.functional.cross_entropy(model.call(batch), labels).backward();
            }
            void Infer(nn.Module<Tensor, Tensor> model)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                model.call(window);
            }
            var cases = new (string Name, Action Run)[]
            {
                ("RepCNN multi-branch training step (forward + backward, 64 one-second clips)", () => Step(repcnn)),
                ("RepCNN folded inference (one one-second window)", () => Infer(folded)),
                ("BC-ResNet-1 training step (forward + backward, 64 one-second clips)", () => Step(bcResNet)),
            };
            foreach (var (name, run) in cases)
            {
                var ms = Latency.Medians([() => { OneDnn.Enabled = false; run(); }, () => { OneDnn.Enabled = true; run(); }], repeats, warmup: 2);
                log.WriteLine($"{name}: ATen {ms[0]:0.00} ms, oneDNN {ms[1]:0.00} ms");
                rows.Add(new($"{name}, ATen's convolutions (oneDNN off)", ms[0], "ms", "oneDNN on", ms[0] / ms[1],
                    $"oneDNN on: {ms[1]:0.00} ms; median of {repeats}, in turn; {verdict}"));
            }
        }
        finally
        {
            OneDnn.Enabled = kept;
        }
        rows.Add(RepeatedTrainings(quick ? 2 : 20, quick, log));
        return rows;
    }

    /// <summary>Notebook 06's multi-branch RepCNN recipe, <paramref name="runs"/> times with the same seed.</summary>
    static Measurement RepeatedTrainings(int runs, bool quick, TextWriter log)
    {
        using var data = KeywordSpottingData.Prepare(KeywordSpottingExperiments.Dataset(quick), realVoiceVariations: 0);
        int finished = 0;
        double[]? first = null;
        bool identical = true;
        var seconds = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var (model, _, training) = KeywordSpottingExperiments.Create(KeywordSpottingExperiments.MultiBranch, data.Labels.Count, quick);
            using (model)
            {
                var run = KeywordSpotterTraining.Train(model, data.Train, data.Validation, training);
                seconds.Add(run.Elapsed.TotalSeconds);
                bool ok = run.Outcome == TrainingOutcome.Completed && ModelHealth.IsFinite(model);
                if (ok) finished++;
                using var flat = torch.cat(model.parameters().Select(p => p.detach().flatten()).ToList()).to(ScalarType.Float64);
                var weights = flat.data<double>().ToArray();
                first ??= weights;
                identical &= weights.SequenceEqual(first);
                log.WriteLine($"training {i + 1}/{runs}: {run.Outcome}{(ok ? "" : $" ({run.Message})")}, last loss {run.LastLoss:0.000}, {run.Elapsed.TotalSeconds:0.0} s");
            }
        }
        var steps = KeywordSpottingExperiments.Training(quick).Steps;
        return new($"notebook 06's RepCNN recipe ({steps} steps, seed 1) repeated: finished without NaN", finished, $"of {runs}",
            Note: $"{(identical ? "every run gave the same weights, bit for bit" : "runs gave DIFFERENT weights")}; median {seconds.Order().ElementAt(seconds.Count / 2):0.0} s per run");
    }
}
