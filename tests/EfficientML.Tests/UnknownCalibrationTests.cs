using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.KeywordSpotting;

namespace EfficientML.Tests;

public class UnknownCalibrationTests
{
    static readonly string[] Labels = ["yes", "no", KeywordDatasetOptions.UnknownLabel, KeywordDatasetOptions.SilenceLabel];

    /// <summary>
    /// Clips whose unknown logit sits <c>margin</c> below (or above) the best keyword's: keyword clips at margins −1 … −0.1
    /// (right keyword on top), unknown clips at margins −0.95 … +0.05, so at bias 0 most unknown words are taken for keywords.
    /// </summary>
    static KeywordEvaluation Overconfident(int perClass = 10)
    {
        var truth = new List<int>();
        var logits = new List<float[]>();
        for (int i = 0; i < perClass; i++)
        {
            float margin = -1 + 0.1f * i;                                       // −1.0 … −0.1
            truth.Add(i % 2);
            var row = new float[] { 0, 0, margin, -5 };
            row[i % 2] = 0.01f;
            logits.Add(row);
            truth.Add(2);
            logits.Add([0, 0, margin + 0.05f, -5]);
        }
        var predictions = logits.Select(r => Array.IndexOf(r, r.Max())).ToArray();
        return new KeywordEvaluation(Labels, [.. truth], predictions, 0) { Logits = [.. logits] };
    }

    [Fact]
    public void The_fitted_bias_balances_keyword_recall_and_unknown_rejection_on_validation()
    {
        var validation = Overconfident();
        Assert.True(validation.UnknownRejection < 0.2, "the example should over-accept keywords at bias 0");
        var calibration = UnknownCalibration.Fit(validation);
        Assert.True(calibration.Bias > 0, $"bias {calibration.Bias}");
        Assert.InRange(Math.Abs(calibration.KeywordRecall - calibration.UnknownRejection), 0, 0.1 + 1e-9);
        Assert.Equal(validation.KeywordRecall, calibration.UncalibratedKeywordRecall);
        Assert.Equal(validation.UnknownRejection, calibration.UncalibratedUnknownRejection);
        var applied = calibration.Apply(validation);
        Assert.Equal(calibration.KeywordRecall, applied.KeywordRecall);
        Assert.Equal(calibration.UnknownRejection, applied.UnknownRejection);
        Assert.Equal(validation.Truth, applied.Truth);
    }

    [Fact]
    public void Bias_zero_decides_as_the_arg_max_and_a_large_bias_answers_unknown_everywhere()
    {
        var evaluation = Overconfident();
        Assert.Equal(evaluation.Predictions, new UnknownCalibration(0, 0, 0, 0, 0).Apply(evaluation).Predictions);
        Assert.All(new UnknownCalibration(100, 0, 0, 0, 0).Apply(evaluation).Predictions, p => Assert.Equal(2, p));
        Assert.DoesNotContain(2, new UnknownCalibration(-100, 0, 0, 0, 0).Apply(evaluation).Predictions);
    }

    [Fact]
    public void The_logits_follow_a_selection_of_clips()
    {
        var evaluation = Overconfident();
        var unknownOnly = evaluation.Where(i => evaluation.Truth[i] == 2);
        Assert.Equal(unknownOnly.Truth.Length, unknownOnly.Logits!.Length);
        Assert.Equal(evaluation.Logits![1], unknownOnly.Logits[0]);
    }

    [Fact]
    public void Calibration_without_what_it_needs_gets_one_clear_message()
    {
        var evaluation = Overconfident();
        Assert.Contains("no logits", Assert.Throws<InvalidSettingsException>(() => UnknownCalibration.Fit(evaluation with { Logits = null })).Message);
        Assert.Contains("no logits", Assert.Throws<InvalidSettingsException>(() => new UnknownCalibration(1, 0, 0, 0, 0).Apply(evaluation with { Logits = null })).Message);
        var noUnknown = new KeywordEvaluation(["yes", "no"], [0, 1], [0, 1], 0) { Logits = [[1, 0], [0, 1]] };
        Assert.Contains("no unknown class", Assert.Throws<InvalidSettingsException>(() => UnknownCalibration.Fit(noUnknown)).Message);
        var keywordsOnly = evaluation.Where(i => evaluation.Truth[i] != 2);
        Assert.True(UnknownCalibration.CanFit(evaluation));
        Assert.False(UnknownCalibration.CanFit(keywordsOnly) || UnknownCalibration.CanFit(noUnknown) || UnknownCalibration.CanFit(evaluation with { Logits = null }));
        Assert.Contains("keywords and of unknown words", Assert.Throws<InvalidSettingsException>(() => UnknownCalibration.Fit(keywordsOnly)).Message);
    }
}
