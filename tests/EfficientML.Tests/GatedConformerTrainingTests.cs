using EfficientML.Core;
using EfficientML.GatedConformer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class GatedConformerTrainingTests
{
    readonly ITestOutputHelper output;

    public GatedConformerTrainingTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    static readonly GatedConformerConfig Small = new() { Width = 32, Heads = 4, Blocks = 2, FeedForwardWidth = 64 };

    [Fact]
    public void Recordings_have_disjoint_voices_and_per_step_targets_where_the_words_are()
    {
        var options = new GatedStreamOptions().Quick() with { StreamSeconds = 12 };
        using var data = GatedStreamData.Build(options, Small);
        var trainVoices = data.Train.SelectMany(s => s.Events).Select(e => e.Speaker).ToHashSet();
        var testVoices = data.Test.SelectMany(s => s.Events).Select(e => e.Speaker).ToHashSet();
        Assert.NotEmpty(testVoices);
        Assert.Empty(trainVoices.Intersect(testVoices));
        Assert.Contains(data.Train, s => s.Kind != StreamKind.Speech);
        foreach (var stream in data.Train.Where(s => s.Kind != StreamKind.Speech)) Assert.All(stream.StepLabels, l => Assert.Equal(Small.NoneClass, l));
        var speech = data.Train.First(s => s.Kind == StreamKind.Speech);
        var keyword = speech.Events.First(e => e.Label < Small.Keywords);
        int end = (int)Math.Ceiling(keyword.End / speech.StepSeconds) - 1;
        Assert.Equal(keyword.Label, speech.StepLabels[end]);                                   // the word's last step names it …
        Assert.Equal(-100, speech.StepLabels[(int)Math.Floor(keyword.Start / speech.StepSeconds)]); // … its first is left out
        Assert.True(speech.StepBounds[end, 0] > 0);
        Assert.Equal(Small.Keywords + 1, data.Labels.Count);

        // Where a word sounds: every word's steps (keywords and others) through the label's tail, nothing in noise.
        foreach (var stream in data.Train.Where(s => s.Kind != StreamKind.Speech)) Assert.DoesNotContain(true, stream.StepSpeech);
        foreach (var e in speech.Events)
        {
            int s0 = (int)Math.Floor(e.Start / speech.StepSeconds), s1 = Math.Min(speech.Steps, (int)Math.Ceiling(e.End / speech.StepSeconds) + options.TailSteps);
            for (int t = Math.Max(0, s0); t < s1; t++) Assert.True(speech.StepSpeech[t], $"step {t} of '{e.Word}' is not marked as speech");
        }
        double share = speech.StepSpeech.Count(x => x) / (double)speech.Steps;
        Assert.InRange(share, 0.05, 0.95);
        using var batch = data.Batch(new Random(1), 6, 32, Small);
        Assert.Equal(new long[] { 6, 32 }, batch.Speech.shape);
        Assert.True(batch.Speech.logical_and(batch.HasBounds).eq(batch.HasBounds).all().item<bool>(), "a keyword step must be a speech step");
    }

    [Fact]
    public void The_spotter_learns_on_a_tiny_set()
    {
        var options = new GatedStreamOptions().Quick() with { StreamSeconds = 12, TrainStreams = 2, TrainNoiseStreams = 1 };
        using var data = GatedStreamData.Build(options, Small);
        Seeding.Everything(3);
        using var model = new ConformerSpotter(Small);
        var training = new GatedTrainingOptions { Training = new TrainingOptions { Steps = 200, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 10, EvalEvery = 0, Seed = 3 } };
        var stream = data.Train[0];
        double before = KeywordStepLoss(model, stream);
        var run = GatedTraining.Train(model, data, training).ThrowIfDiverged();
        double first = run.Steps.Take(10).Average(s => s.Loss), last = run.Steps.TakeLast(10).Average(s => s.Loss);
        double after = KeywordStepLoss(model, stream);
        output.WriteLine($"loss {first:0.000} → {last:0.000}; cross-entropy on keyword steps {before:0.000} → {after:0.000}");
        Assert.True(last < 0.6 * first, $"the loss fell only from {first:0.000} to {last:0.000}");
        // Not just "none" everywhere: the keywords' own steps are predicted better than by the untrained model.
        Assert.True(after < 0.8 * before, $"cross-entropy on keyword steps went from {before:0.000} to {after:0.000}");
    }

    [Fact]
    public void With_an_open_gate_phase_the_gates_learn_only_after_it_and_the_model_keeps_its_gating()
    {
        var options = new GatedStreamOptions().Quick() with { StreamSeconds = 8, TrainStreams = 2, TrainNoiseStreams = 1 };
        using var data = GatedStreamData.Build(options, Small);
        var gatedConfig = Small with { Gated = true };
        (double Gates, double Others) Moved(double openShare, int steps)
        {
            Seeding.Everything(4);
            using var model = new ConformerSpotter(gatedConfig);
            var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
            var training = new GatedTrainingOptions
            {
                OpenGateShare = openShare,
                Training = new TrainingOptions { Steps = steps, BatchSize = 4, LearningRate = 3e-3, WarmupSteps = 1, EvalEvery = 0, WeightDecay = 0, Seed = 4 },
            };
            GatedTraining.Train(model, data, training).ThrowIfDiverged();
            Assert.Equal(GateMode.Learned, model.Gating);
            double Change(Func<string, bool> which) => model.state_dict().Where(p => which(p.Key) && p.Value.is_floating_point())
                .Max(p => (p.Value - before[p.Key]).abs().max().item<float>());
            return (Change(n => n.Contains(".gates.")), Change(n => !n.Contains(".gates.") && !n.StartsWith("feature")));
        }
        var allOpen = Moved(0.9, 3);                       // steps 0–2 of 3 with every gate open: the gates get no gradient
        Assert.Equal(0, allOpen.Gates);
        Assert.True(allOpen.Others > 1e-4);
        var gatesLearn = Moved(0.5, 4);                    // steps 2 and 3 decide with the gates
        Assert.True(gatesLearn.Gates > 1e-5, $"the gates moved only {gatesLearn.Gates}");
        Assert.Throws<InvalidSettingsException>(() => new GatedTrainingOptions { OpenGateShare = 1 }.Validate(gatedConfig));
    }

    [Fact]
    public void A_seed_study_trains_each_seed_on_the_same_recordings_and_reports_mean_and_spread()
    {
        var options = new GatedExperimentOptions { Model = Small }.Quick() with
        {
            Data = new GatedStreamOptions().Quick() with { StreamSeconds = 8, TrainStreams = 2, TrainNoiseStreams = 1 },
        };
        options = options with { Training = options.Training with { Training = options.Training.Training with { Steps = 3 } } };
        var study = GatedExperiment.RunSeeds(options, [4, 9]);
        try
        {
            Assert.Equal([4, 9], study.Seeds.Select(r => r.Seed));
            Assert.Equal(4, study.First.Options.Training.Training.Seed);
            Assert.Equal(study.First.Gated.WordAccuracy, study.Seeds[0].GatedAccuracy);
            var changes = study.Seeds.Select(r => 100 * (r.GatedAccuracy - r.UngatedAccuracy)).ToArray();
            var (mean, spread) = study.AccuracyChangePoints;
            Assert.Equal(changes.Average(), mean, 9);
            Assert.Equal(Math.Abs(changes[0] - changes[1]) / Math.Sqrt(2), spread, 9);
            Assert.All(study.Seeds, r => Assert.True(r.NoiseTimeRatio > 0 && double.IsFinite(r.NoiseTimeRatio)));
        }
        finally
        {
            study.First.GatedModel.Dispose();
            study.First.UngatedModel.Dispose();
        }
        Assert.Contains("repeat", Assert.Throws<InvalidSettingsException>(() => GatedExperiment.RunSeeds(options, [1, 1])).Message);
        Assert.Contains("at least one seed", Assert.Throws<InvalidSettingsException>(() => GatedExperiment.RunSeeds(options, [])).Message);
    }

    [Fact]
    public void Module_costs_weight_the_run_share_and_gate_dropout_forces_skips_only_in_training()
    {
        Seeding.Everything(5);
        using var model = new ConformerSpotter(Small);
        using var features = randn(2, Small.Mels, 8 * Small.FramesPerGate);
        using var labels = full(2, 8 * Small.GateSteps, (long)Small.NoneClass);
        using var bounds = zeros(2, 8 * Small.GateSteps, 2);
        using var has = zeros(2, 8 * Small.GateSteps, ScalarType.Bool);
        model.eval();
        var p = model.Forward(features).RunProbability!;                            // (B, modules, J)
        var plain = new GatedTrainingOptions();
        double Share(GatedTrainingOptions o) => GatedTraining.Loss(model, features, labels, bounds, has, o).RunShare!.item<float>();
        Assert.Equal(p.mean().item<float>(), Share(plain), 6);
        Assert.Equal(Share(plain), Share(plain with { ModuleCosts = [2, 2, 2, 2] }), 6);
        // By hand: module m has kind m mod 4; costs 1, 3, 3, 1 normalised to mean 1.
        var perKind = new[] { 0.5, 1.5, 1.5, 0.5 };
        double byHand = 0;
        for (int m = 0; m < Small.Modules; m++) byHand += perKind[m % 4] * p.select(1, m).mean().item<float>();
        Assert.Equal(byHand / Small.Modules, Share(plain with { ModuleCosts = [1, 3, 3, 1] }), 5);

        // Gates start open; dropout 0.5 forces about half the decisions to skip in training, none in evaluation.
        using (no_grad())
        {
            Assert.Equal(model.Forward(features).Ran.mean().item<float>(), model.Forward(features, null, 0.5).Ran.mean().item<float>());
            model.train();
            double open = model.Forward(features, new Generator(1)).Ran.mean().item<float>();
            double dropped = model.Forward(features, new Generator(1), 0.5).Ran.mean().item<float>();
            output.WriteLine($"modules run in training: {open:P0} without gate dropout, {dropped:P0} with 0.5");
            Assert.True(open > 0.85, $"fresh gates should run nearly everything ({open:P0})");
            Assert.InRange(dropped, 0.3 * open, 0.7 * open);
        }
        // The pull on speech blocks: scale 1 is the plain loss; scale 0 leaves only noise blocks pulled (by hand below).
        model.eval();
        using var speech = zeros(2, 8 * Small.GateSteps, ScalarType.Bool);
        speech[0, TensorIndex.Slice(0, 2 * Small.GateSteps + 1)] = tensor(true);  // batch 0: blocks 0, 1 and 2 (one step of it) hold speech
        double Total(GatedTrainingOptions o, Tensor? mask) => GatedTraining.Loss(model, features, labels, bounds, has, o, speech: mask).Total.item<float>();
        var pullOnly = plain with { CostTarget = 1, CostPull = 1, GateLogitDecay = 0 };
        double classification = GatedTraining.Loss(model, features, labels, bounds, has, pullOnly).Classification.item<float>();
        Assert.Equal(Total(pullOnly, null), Total(pullOnly with { SpeechPullScale = 1 }, speech), 5);
        using var noiseBlocks = ones(2, 1, 8);
        noiseBlocks[0, 0, TensorIndex.Slice(0, 3)] = tensor(0f);
        Assert.Equal(classification + p.mul(noiseBlocks).mean().item<float>(), Total(pullOnly with { SpeechPullScale = 0 }, speech), 4);
        // A negative scale pushes the gates of speech blocks open: by hand, those blocks count −1 in the pulled share.
        using (var pushed = noiseBlocks.clone())
        {
            pushed[0, 0, TensorIndex.Slice(0, 3)] = tensor(-1f);
            Assert.Equal(classification + p.mul(pushed).mean().item<float>(), Total(pullOnly with { SpeechPullScale = -1 }, speech), 4);
        }
        Assert.Contains("pull on speech", Assert.Throws<InvalidSettingsException>(() => (plain with { SpeechPullScale = -11 }).Validate(Small)).Message);
        Assert.Contains("four positive numbers", Assert.Throws<InvalidSettingsException>(() => (plain with { ModuleCosts = [1, 2] }).Validate(Small)).Message);
        Assert.Contains("four positive numbers", Assert.Throws<InvalidSettingsException>(() => (plain with { ModuleCosts = [1, 0, 1, 1] }).Validate(Small)).Message);
        Assert.Contains("0 to 0.9", Assert.Throws<InvalidSettingsException>(() => (plain with { GateDropout = 1 }).Validate(Small)).Message);
        var costs = ConformerTiming.ModuleCosts(Small, repeats: 5);
        Assert.Equal(4, costs.Length);
        Assert.All(costs, c => Assert.True(c > 0 && double.IsFinite(c)));
        Assert.Contains("Repeats", Assert.Throws<InvalidSettingsException>(() => ConformerTiming.ModuleCosts(Small, repeats: 0)).Message);
    }

    [Fact]
    public void A_saturated_gate_is_out_of_the_costs_reach_until_its_logit_decays()
    {
        Seeding.Everything(8);
        using var model = new ConformerSpotter(Small);
        model.eval();                                                                // hard decisions: only the cost moves the gates
        using var features = randn(2, Small.Mels, 4 * Small.FramesPerGate);
        using var labels = full(2, 4 * Small.GateSteps, (long)Small.NoneClass);
        using var bounds = zeros(2, 4 * Small.GateSteps, 2);
        using var has = zeros(2, 4 * Small.GateSteps, ScalarType.Bool);
        var plain = new GatedTrainingOptions { CostTarget = 0 };

        // By hand: the first gate's logits are its network on block 0's input, pooled with its past; the probabilities are
        // their sigmoid; the penalty is the decay × the mean squared gate logit.
        using (no_grad())
        {
            var result = model.Forward(features);
            var firstGate = model.blocks[0].gates[0].forward(GateInput.Of(model.Steps(features), Small.GateSteps, Small.GateContext));
            Assert.Equal(0, (result.RunLogit!.select(1, 0) - firstGate).abs().max().item<float>(), 5);
            Assert.Equal(0, (result.RunProbability!.select(1, 0) - firstGate.sigmoid()).abs().max().item<float>(), 6);
            double Total(double decay) => GatedTraining.Loss(model, features, labels, bounds, has, plain with { GateLogitDecay = decay }).Total.item<float>();
            Assert.Equal(Total(0) + 0.5 * result.RunLogit.square().mean().item<float>(), Total(0.5), 4);
        }

        // Gates as sure as a trained model's always-open ones (logit +15): plain gradient steps on the cost alone leave them
        // open; with the decay they come within reach of the cost and close.
        double RunShareAfterSteps(double decay)
        {
            using var gated = new ConformerSpotter(Small);
            gated.load_state_dict(model.state_dict());
            gated.eval();
            var gates = gated.blocks.SelectMany(b => b.gates).ToList();
            using (no_grad())
                foreach (var gate in gates) gate.output.bias!.fill_(15.0);
            using var sgd = optim.SGD(gates.SelectMany(g => g.parameters()), 0.5);
            var options = plain with { GateLogitDecay = decay, BoundsWeight = 0 };
            for (int step = 0; step < 100; step++)
            {
                sgd.zero_grad();
                GatedTraining.Loss(gated, features, labels, bounds, has, options).Total.backward();
                sgd.step();
            }
            using (no_grad()) return gated.Forward(features).Ran.mean().item<float>();
        }
        double withoutDecay = RunShareAfterSteps(0), withDecay = RunShareAfterSteps(0.1);
        output.WriteLine($"modules run after 100 steps on the cost from logit +15: {withoutDecay:P0} without the decay, {withDecay:P0} with 0.1");
        Assert.Equal(1, withoutDecay, 6);
        Assert.True(withDecay < 0.2, $"with the decay the gates should close on the cost ({withDecay:P0} still run)");
        Assert.Contains("logit decay", Assert.Throws<InvalidSettingsException>(() => (plain with { GateLogitDecay = -1 }).Validate(Small)).Message);
    }

    [Fact]
    public void A_teacher_is_learnt_from_through_the_divergence_of_its_softened_outputs()
    {
        // By hand: one step, three classes, temperature 2.
        using var student = tensor(new float[] { 1, 0, -1 }).view(1, 1, 3);
        using var teacherOut = tensor(new float[] { 0, 2, 0 }).view(1, 1, 3);
        double[] Soft(double[] z) { var e = z.Select(v => Math.Exp(v / 2)).ToArray(); return e.Select(v => v / e.Sum()).ToArray(); }
        var ps = Soft([1, 0, -1]); var pt = Soft([0, 2, 0]);
        double kl = 4 * Enumerable.Range(0, 3).Sum(c => pt[c] * Math.Log(pt[c] / ps[c]));
        Assert.Equal(kl, GatedTraining.Distillation(student, teacherOut, 2).item<float>(), 5);
        Assert.Equal(0, GatedTraining.Distillation(teacherOut, teacherOut, 2).item<float>(), 6);

        // In the loss: (1 − w) × cross-entropy + w × the divergence; the reported classification stays the cross-entropy.
        Seeding.Everything(6);
        using var model = new ConformerSpotter(Small);
        model.eval();
        using var features = randn(2, Small.Mels, 4 * Small.FramesPerGate);
        using var labels = full(2, 4 * Small.GateSteps, (long)Small.NoneClass);
        using var bounds = zeros(2, 4 * Small.GateSteps, 2);
        using var has = zeros(2, 4 * Small.GateSteps, ScalarType.Bool);
        using var teacherLogits = randn(2, 4 * Small.GateSteps, Small.Classes);
        var options = new GatedTrainingOptions { CostWeight = 0, GateLogitDecay = 0, DistillWeight = 0.25, DistillTemperature = 3 };
        var loss = GatedTraining.Loss(model, features, labels, bounds, has, options, teacherLogits: teacherLogits);
        using var logits = model.Forward(features).Logits;
        double divergence = GatedTraining.Distillation(logits, teacherLogits, 3).item<float>();
        double ce = loss.Classification.item<float>();
        Assert.Equal(0.75 * ce + 0.25 * divergence, loss.Total.item<float>(), 4);
        Assert.Equal(ce, GatedTraining.Loss(model, features, labels, bounds, has, options with { DistillWeight = 0 }, teacherLogits: teacherLogits).Total.item<float>(), 5);
        Assert.Equal(ce, GatedTraining.Loss(model, features, labels, bounds, has, options).Total.item<float>(), 5);  // no teacher: the labels alone

        // Bad settings: one message each.
        var data = GatedStreamData.Build(new GatedStreamOptions().Quick() with { StreamSeconds = 12, TrainStreams = 2, TrainNoiseStreams = 1 }, Small);
        using (data)
        {
            var quick = new GatedTrainingOptions { DistillWeight = 0.5 }.Quick();
            Assert.Contains("its own teacher", Assert.Throws<InvalidSettingsException>(() => GatedTraining.Train(model, data, quick, teacher: model)).Message);
            using var other = new ConformerSpotter(Small with { Keywords = Small.Keywords + 1 });
            Assert.Contains("same keywords", Assert.Throws<InvalidSettingsException>(() => GatedTraining.Train(model, data, quick, teacher: other)).Message);

            // Trained on the teacher alone (weight 1), the model moves towards the teacher's outputs.
            Seeding.Everything(7);
            using var teacher = new ConformerSpotter(Small with { Gated = false });
            GatedTraining.Train(teacher, data, new GatedTrainingOptions().Quick());
            teacher.eval();
            using var crop = data.Batch(new Random(3), 4, 64, Small);
            double Gap()
            {
                using var _ = no_grad();
                model.eval();
                return GatedTraining.Distillation(model.Forward(crop.Features).Logits, teacher.Forward(crop.Features).Logits, 1).item<float>();
            }
            double before = Gap();
            GatedTraining.Train(model, data, new GatedTrainingOptions { DistillWeight = 1, DistillTemperature = 1, CostWeight = 0 }.Quick()
                with { Training = new TrainingOptions { Steps = 60, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 5, EvalEvery = 0, Seed = 7 } }, teacher: teacher);
            double after = Gap();
            output.WriteLine($"divergence from the teacher {before:0.000} → {after:0.000}");
            Assert.True(after < 0.5 * before, $"the divergence from the teacher went only from {before:0.000} to {after:0.000}");
        }
        Assert.Contains("0 to 1", Assert.Throws<InvalidSettingsException>(() => (options with { DistillWeight = 1.5 }).Validate(Small)).Message);
        Assert.Contains("temperature", Assert.Throws<InvalidSettingsException>(() => (options with { DistillTemperature = 0 }).Validate(Small)).Message);
    }

    /// <summary>Mean −log p(keyword) over the steps labelled with a keyword, the model run as a stream.</summary>
    static double KeywordStepLoss(ConformerSpotter model, LabelledStream stream)
    {
        var streamed = ConformerStream.Run(model, stream.Features);
        var losses = Enumerable.Range(0, streamed.Steps).Where(t => stream.StepLabels[t] >= 0 && stream.StepLabels[t] < model.Config.Keywords)
            .Select(t => -Math.Log(Math.Max(streamed.Posteriors[t, stream.StepLabels[t]], 1e-9))).ToList();
        Assert.NotEmpty(losses);
        return losses.Average();
    }
}
