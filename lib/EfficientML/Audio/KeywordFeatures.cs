using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Audio;

/// <summary>
/// Log-mel features of a set of clips, ready for a keyword spotter: [N, mels, frames] with each band's mean over time
/// removed (cepstral mean normalisation, which also takes out a fixed channel colouring such as a telephone line's), and
/// the class labels [N].
/// </summary>
public sealed class KeywordFeatures : IDisposable
{
    internal KeywordFeatures(Tensor features, Tensor labels)
    {
        Features = features;
        Labels = labels;
    }

    /// <summary>Features [N, mels, frames], float32.</summary>
    public Tensor Features { get; }

    /// <summary>Class indices [N], int64.</summary>
    public Tensor Labels { get; }

    /// <summary>Number of clips.</summary>
    public int Count => (int)Labels.shape[0];

    /// <summary>The features of <paramref name="split"/>'s clips, computed in batches of <paramref name="batch"/>.</summary>
    public static KeywordFeatures Of(KeywordSplit split, LogMel logMel, Device? device = null, int batch = 256)
    {
        var parts = new List<Tensor>();
        for (int start = 0; start < split.Count; start += batch)
        {
            var indices = Enumerable.Range(start, Math.Min(batch, split.Count - start)).ToArray();
            using var audio = split.AudioTensor(indices, device);
            parts.Add(Normalise(logMel.Compute(audio)));
        }
        var features = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return new KeywordFeatures(features, split.LabelTensor(device));
    }

    /// <summary>Features of clips given as waveforms [N, samples] with their labels.</summary>
    public static KeywordFeatures Of(Tensor waveforms, IReadOnlyList<int> labels, LogMel logMel)
    {
        if (waveforms.shape[0] != labels.Count)
            throw new InvalidSettingsException($"{waveforms.shape[0]} waveforms but {labels.Count} labels.");
        return new KeywordFeatures(Normalise(logMel.Compute(waveforms)), tensor(labels.Select(l => (long)l).ToArray()).to(waveforms.device));
    }

    /// <summary>Removes each band's mean over time: [.., mels, frames] → same shape.</summary>
    public static Tensor Normalise(Tensor logMel)
    {
        using var mean = logMel.mean([-1], keepdim: true);
        return logMel.sub(mean);
    }

    /// <summary>The clips <paramref name="indices"/> as a batch (features, labels).</summary>
    public (Tensor Features, Tensor Labels) Batch(Tensor indices) => (Features.index_select(0, indices), Labels.index_select(0, indices));

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
    }
}
