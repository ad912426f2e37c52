using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class ClusteringFineTuningTests
{
    static readonly Lazy<TextCorpus> Corpus = new(() => TextCorpus.MobyDick());

    static TinyGpt Trained()
    {
        var model = TestModels.Random(TestModels.Small(layers: 2));
        LanguageModelTraining.Train(model, Corpus.Value, new TrainingOptions { Steps = 40, BatchSize = 8, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 4, EvalEvery = 0, EvalBatches = 1 });
        return model;
    }

    [Fact]
    public void Fine_tuning_with_dkm_beats_post_training_kmeans_at_two_bits_and_leaves_k_values_per_layer()
    {
        using var model = Trained();
        var options = new DkmOptions { Bits = 2 };
        var before = ClusteringFineTuning.PostTraining(model, Corpus.Value, options, evalBatches: 2);
        var tuned = ClusteringFineTuning.FineTune(model, Corpus.Value, options,
            new TrainingOptions { Steps = 30, BatchSize = 8, BlockSize = 32, LearningRate = 1e-3, WarmupSteps = 3, EvalEvery = 15, EvalBatches = 2 });
        Assert.Equal(TrainingOutcome.Completed, tuned.Run!.Outcome);
        Assert.True(tuned.ValidationLoss < before.ValidationLoss, $"DKM {tuned.ValidationLoss:F3} vs k-means {before.ValidationLoss:F3}");
        using var layers = new ClusteredLayers(model, options);
        using (layers.UseHardWeights())
            foreach (var name in layers.Names)
            {
                var weight = model.named_modules().First(m => m.name == name).module.named_parameters().First(p => p.name == "weight").parameter;
                Assert.True(weight.unique().Item1.numel() <= 4, $"{name} has more than 4 distinct values when hard-clustered");
            }
    }

    [Fact]
    public void Sizes_count_packed_indices_and_tables_for_clustered_weights_and_float32_for_the_rest()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 1));
        var result = ClusteringFineTuning.PostTraining(model, Corpus.Value, new DkmOptions { Bits = 3 }, evalBatches: 1);
        var c = model.Config;
        long linear = 4L * c.Dim * c.Dim + 2L * c.Dim * c.MlpDim;                       // q, k, v, o, fc, proj weights
        long expected = (model.ParameterCount - linear) * 4 + 6 * 8 * 4 + (linear * 3 + 7 * 6) / 8;
        Assert.InRange(result.ModelBytes, expected - 6, expected + 6);                    // each layer rounds its packed bits up to a byte
        Assert.Equal(model.ParameterCount * 4, result.Float32Bytes);
        Assert.True(result.CompressionRatio > 1.5);
    }

    [Fact]
    public void Applying_hard_weights_makes_the_model_the_palettised_one_for_good()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 1));
        var options = new DkmOptions { Bits = 2 };
        using var layers = new ClusteredLayers(model, options);
        using var tokens = TestModels.Tokens(3, 16);
        Tensor expected;
        using (layers.UseHardWeights()) expected = model.forward(tokens).detach().clone();
        var norm = model.named_parameters().First(p => p.name == "blocks.0.ln_1.weight").parameter.clone();

        layers.ApplyHardWeights();

        foreach (var name in layers.Names)
            Assert.True(layers.Weight(name).unique().Item1.numel() <= options.Clusters, $"{name} has more than {options.Clusters} distinct values");
        Assert.True(TestModels.Same(expected, model.forward(tokens)), "the model computes what it computed with UseHardWeights");
        Assert.True(TestModels.Same(norm, model.named_parameters().First(p => p.name == "blocks.0.ln_1.weight").parameter), "unclustered parameters are untouched");
        // The centroids stay: palettising again gives the weights back exactly.
        foreach (var (name, palette) in layers.Palettize())
            using (palette)
            using (var decoded = palette.Decode())
                Assert.True(TestModels.Same(decoded, layers.Weight(name)), name);
    }

    [Fact]
    public void Fine_tuning_chosen_layers_with_an_edkm_store_leaves_the_layers_to_the_caller()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 1));
        var options = new DkmOptions { Bits = 3 };
        using var store = new SavedTensorStore(new EDkmOptions { Uniquify = true, Deduplicate = true });
        using var layers = new ClusteredLayers(model, options, store, ["blocks.0.mlp.fc", "blocks.0.mlp.proj"]);
        var seen = new List<int>();
        var result = ClusteringFineTuning.FineTune(model, Corpus.Value, layers,
            new TrainingOptions { Steps = 3, BatchSize = 2, BlockSize = 16, LearningRate = 1e-3, WarmupSteps = 0, EvalEvery = 0, EvalBatches = 1 },
            onStep: (run, l) => { Assert.Same(layers, l); seen.Add(run.Steps.Count); });

        Assert.Equal(TrainingOutcome.Completed, result.Run!.Outcome);
        Assert.Contains(3, seen);
        Assert.True(store.Report.Peak.Total > 0, "the store measured the fine-tuning");
        Assert.NotNull(layers["blocks.0.mlp.fc"].Centroids);
        var c = model.Config;
        long clustered = 2L * c.Dim * c.MlpDim;
        long expected = (model.ParameterCount - clustered) * 4 + 2 * 8 * 4 + clustered * 3 / 8;
        Assert.Equal(expected, result.ModelBytes);

        var post = ClusteringFineTuning.PostTraining(model, Corpus.Value, layers, evalBatches: 1);
        Assert.Equal(result.ModelBytes, post.ModelBytes);
    }

    [Fact]
    public void Clustered_layers_of_another_model_are_refused()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 1));
        using var other = TestModels.Random(TestModels.Small(layers: 1));
        using var layers = new ClusteredLayers(other, new DkmOptions());
        var error = Assert.Throws<InvalidSettingsException>(() => ClusteringFineTuning.PostTraining(model, Corpus.Value, layers, evalBatches: 1));
        Assert.Contains("made on another model", error.Message);
    }

    [Fact]
    public void A_step_that_makes_its_own_gradients_trains_and_a_nan_loss_stops_before_the_weights_change()
    {
        using var model = TestModels.Random(TestModels.Small(layers: 1));
        var options = new TrainingOptions { Steps = 3, BatchSize = 2, BlockSize = 16, EvalEvery = 0 };
        var before = model.lm_head is null ? model.wte.weight!.clone() : model.lm_head.weight!.clone();
        var run = Trainer.RunWithOwnBackward(model, _ =>
        {
            var loss = model.Loss(TestModels.Tokens(1, 16).narrow(1, 0, 15), TestModels.Tokens(1, 16).narrow(1, 1, 15));
            loss.backward();
            return loss.detach();
        }, new TrainingRun("own", options, 32));
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.False(TestModels.Same(before, model.wte.weight!));
        var frozen = model.wte.weight!.clone();
        var nan = Trainer.RunWithOwnBackward(model, _ => tensor(float.NaN), new TrainingRun("nan", options, 32));
        Assert.Equal(TrainingOutcome.Diverged, nan.Outcome);
        Assert.True(TestModels.Same(frozen, model.wte.weight!));
    }
}
