using EfficientML.Core;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class BcResNetTests
{
    readonly ITestOutputHelper output;

    public BcResNetTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    [Theory]
    [InlineData(1.0, 98, 2)]
    [InlineData(1.0, 7, 1)]
    [InlineData(2.0, 41, 3)]
    public void Forward_maps_features_to_logits(double width, int frames, int batch)
    {
        using var model = new BcResNet(BcResNetConfig.Scaled(width, classes: 7), seed: 1);
        model.eval();
        using var _ = no_grad();
        using var logits = model.forward(randn(batch, 40, frames));
        Assert.Equal(new long[] { batch, 7 }, logits.shape);
        Assert.Equal(1, model.Config.StageBins[^1] - model.Config.ClassifierFrequencyKernel + 1);   // 40 mels → 20 → 10 → 5 → 1
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(3.0)]
    public void Analytic_parameter_count_matches_the_model(double width)
    {
        using var model = new BcResNet(BcResNetConfig.Scaled(width), seed: 2);
        var cost = KeywordSpotterCost.Of(model.Config);
        output.WriteLine($"{cost.Model}: {cost.Parameters:N0} parameters, {cost.Macs:N0} MACs per second, peak {cost.PeakActivationBytes:N0} bytes");
        Assert.Equal(model.ParameterCount, cost.Parameters);
    }

    [Fact]
    public void Other_mel_counts_work()
    {
        using var model = new BcResNet(new BcResNetConfig { Mels = 64, Classes = 3 }, seed: 3);
        model.eval();
        using var _ = no_grad();
        using var logits = model.forward(randn(2, 64, 20));
        Assert.Equal(new long[] { 2, 3 }, logits.shape);
        Assert.Equal(model.ParameterCount, KeywordSpotterCost.Of(model.Config).Parameters);
        Assert.Contains("(batch, 64, frames", Assert.Throws<InvalidSettingsException>(() => model.forward(zeros(1, 40, 20))).Message);
    }

    [Fact]
    public void It_trains_on_a_separable_problem()
    {
        // Three classes, each a fixed random spectrogram pattern plus noise.
        var g = new Generator(9);
        using var patterns = randn([3, 40, 24], generator: g);
        using var labels = arange(48, dtype: int64) % 3;
        using var x = patterns.index_select(0, labels) + randn([48, 40, 24], generator: g) * 0.5;
        using var model = new BcResNet(BcResNetConfig.Scaled(1, classes: 3), seed: 4);
        using var optimizer = optim.Adam(model.parameters(), lr: 0.005);
        model.train();
        var losses = new List<float>();
        for (int step = 0; step < 25; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(x), labels);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        output.WriteLine($"loss {losses[0]:F3} → {losses[^1]:F3}");
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]} → {losses[^1]}");
    }
}
