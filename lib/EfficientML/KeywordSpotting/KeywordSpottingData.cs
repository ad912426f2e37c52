using EfficientML.Audio;
using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.KeywordSpotting;

/// <summary>
/// Everything a keyword-spotting comparison trains and tests on: the synthetic dataset, its log-mel features per split,
/// and the real-voice test items with their features.
/// </summary>
public sealed class KeywordSpottingData : IDisposable
{
    KeywordSpottingData(KeywordDataset dataset, LogMel logMel, KeywordFeatures train, KeywordFeatures validation, KeywordFeatures test,
        IReadOnlyList<RealVoiceItem> realItems, KeywordFeatures realVoice)
    {
        Dataset = dataset;
        LogMel = logMel;
        Train = train;
        Validation = validation;
        Test = test;
        RealItems = realItems;
        RealVoice = realVoice;
    }

    /// <summary>The synthetic dataset.</summary>
    public KeywordDataset Dataset { get; }

    /// <summary>The feature extractor used for every split.</summary>
    public LogMel LogMel { get; }

    /// <summary>Training features.</summary>
    public KeywordFeatures Train { get; }

    /// <summary>Validation features (voices not in training).</summary>
    public KeywordFeatures Validation { get; }

    /// <summary>Synthetic test features (voices in no other split).</summary>
    public KeywordFeatures Test { get; }

    /// <summary>The real-voice test clips: each recording as it is, and its seeded variations.</summary>
    public IReadOnlyList<RealVoiceItem> RealItems { get; }

    /// <summary>Features of <see cref="RealItems"/>, in the same order.</summary>
    public KeywordFeatures RealVoice { get; }

    /// <summary>Class names.</summary>
    public IReadOnlyList<string> Labels => Dataset.Labels;

    /// <summary>
    /// Builds (or reads from the cache) the dataset for <paramref name="options"/>, computes every split's log-mel
    /// features on <paramref name="device"/>, and makes the real-voice test with <paramref name="realVoiceVariations"/>
    /// variations per recording.
    /// </summary>
    public static KeywordSpottingData Prepare(KeywordDatasetOptions options, int realVoiceVariations, Device? device = null,
        Action<double>? progress = null, LogMelOptions? features = null) =>
        Prepare(KeywordDatasetBuilder.Build(options, progress), realVoiceVariations, device, features);

    /// <summary>The same for a dataset already built.</summary>
    public static KeywordSpottingData Prepare(KeywordDataset dataset, int realVoiceVariations, Device? device = null, LogMelOptions? features = null)
    {
        device ??= Devices.Default;
        var options = dataset.Options;
        var logMel = new LogMel(features);
        var realItems = RealVoiceTest.Make(options, realVoiceVariations, seed: options.Seed);
        using var waveforms = RealVoiceTest.Waveforms(realItems, device);
        return new KeywordSpottingData(dataset, logMel,
            KeywordFeatures.Of(dataset.Train, logMel, device), KeywordFeatures.Of(dataset.Validation, logMel, device),
            KeywordFeatures.Of(dataset.Test, logMel, device), realItems,
            KeywordFeatures.Of(waveforms, realItems.Select(i => i.Label).ToList(), logMel));
    }

    /// <summary>Frees the features.</summary>
    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
        Test.Dispose();
        RealVoice.Dispose();
        LogMel.Dispose();
    }
}
