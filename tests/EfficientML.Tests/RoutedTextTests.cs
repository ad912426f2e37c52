using EfficientML.Core;
using EfficientML.Routing;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class RoutedTextTests
{
    static RoutedGpt Routed(EfficientML.Models.TinyGpt dense, long seed) =>
        RoutedGpt.FromDense(dense, TestModels.Tokens(seed + 1, 40), null, seed);

    [Fact]
    public void A_text_longer_than_the_context_runs_window_by_window()
    {
        using var dense = TestModels.Random(TestModels.Small(), 5);
        TestModels.Scramble(dense, 5);
        using var routed = Routed(dense, 5);
        using var tokens = TestModels.Tokens(3, 100);                                     // 48 + 48 + 4
        var ids = tokens[0].data<long>().Select(t => (int)t).ToArray();

        using var experts = RoutedText.Experts(routed, ids, ExpertChoice.AtTheta(0.5));
        Assert.Equal(new long[] { 3, 100 }, experts.shape);
        foreach (var (start, length) in new[] { (0, 48), (48, 48), (96, 4) })
        {
            using var output = routed.Run(tokens[.., start..(start + length)], ExpertChoice.AtTheta(0.5));
            Assert.True(TestModels.Same(output.Experts.select(1, 0), experts[.., start..(start + length)]), $"window at {start}");
        }
    }

    [Fact]
    public void Each_token_with_a_next_one_gets_the_label_of_its_window()
    {
        using var dense = TestModels.Random(TestModels.Small(), 6);
        TestModels.Scramble(dense, 6);
        using var routed = Routed(dense, 6);
        using var tokens = TestModels.Tokens(4, 60);                                      // 59 predictions: 48 + 11
        var ids = tokens[0].data<long>().Select(t => (int)t).ToArray();

        using var labels = RoutedText.Labels(routed, ids, 0.05);
        Assert.Equal(new long[] { 59 }, labels.shape);
        using var first = DifficultyLabels.Compute(routed, tokens[.., ..48], tokens[.., 1..49], 0.05);
        using var second = DifficultyLabels.Compute(routed, tokens[.., 48..59], tokens[.., 49..60], 0.05);
        Assert.True(TestModels.Same(cat([first[0], second[0]], 0), labels));
        Assert.Throws<InvalidSettingsException>(() => RoutedText.Labels(routed, [1], 0.05));
        Assert.Throws<InvalidSettingsException>(() => RoutedText.Experts(routed, [], ExpertChoice.AtTheta(0.5)));
    }
}
