using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Prefill;

/// <summary>
/// The models and prompts prefill is shown and timed on. The pretrained model's context is 256 bytes, too short for timing a
/// prefill, so timing uses a wider model with a long context and random weights (time does not depend on the weights);
/// the equality checks run on the pretrained model within its context, and on the timing model too.
/// </summary>
public static class PrefillModels
{
    /// <summary>Seed of the timing model's weights and of its random prompts.</summary>
    public const long Seed = 7;

    /// <summary>A model for timing: 8 layers of width 256 (4 heads, MLP 1024) over bytes, with <paramref name="context"/> positions.</summary>
    public static TinyGptConfig TimingConfig(int context) => new()
    {
        VocabSize = 256, ContextLength = context, Layers = 8, Dim = 256, Heads = 4, KvHeads = 4, MlpDim = 1024, TiedHead = true,
    };

    /// <summary>"pretrained" (the shipped model) or "timing" (random weights, <paramref name="context"/> positions).</summary>
    public static TinyGpt Load(string name, int context)
    {
        return name switch
        {
            "pretrained" => PretrainedModels.LoadTinyMoby(),
            "timing" => new TinyGpt(TimingConfig(context), seed: Seed),
            _ => throw new InvalidSettingsException($"Unknown prefill model '{name}': use 'pretrained' (the shipped model, 256-byte context) or 'timing' (random weights, long context)."),
        };
    }

    /// <summary>
    /// A prompt of <paramref name="length"/> tokens for <paramref name="model"/>: the opening of Moby-Dick's validation text
    /// (bytes), repeated if the model's context is longer than needed.
    /// </summary>
    public static int[] Prompt(TinyGpt model, int length)
    {
        if (length < 1) throw new InvalidSettingsException("The prompt needs at least one token.");
        var text = TextCorpus.ReadMobyDick();
        var bytes = ByteTokenizer.Instance.Encode(text.Substring(text.Length * 9 / 10, Math.Min(text.Length / 10, length + 16)));
        return Enumerable.Range(0, length).Select(i => bytes[i % bytes.Length] % model.Config.VocabSize).ToArray();
    }
}
