using EfficientML.Audio;

namespace EfficientML.KeywordSpotting;

/// <summary>One training-data recipe of an ablation: its name, what it changes, and the dataset options it gives.</summary>
public sealed record VoiceRecipe(string Name, string Change, KeywordDatasetOptions Options);

/// <summary>
/// The training-data recipes for voices the spotter never heard: the espeak-ng-only recipe, the full recipe (Festival voices
/// for half the training speakers, vocal-tract warp, tempo and synthetic rooms on top of the speed change, shift, gain,
/// noise and telephone band limit), and the full recipe with each one of them left out, so an ablation measures what each
/// does on the real voice instead of assuming it.
/// </summary>
public static class VoiceRecipes
{
    /// <summary>Name of the recipe with everything on.</summary>
    public const string Full = "full recipe";

    /// <summary>Name of the espeak-ng-only recipe the stack started with.</summary>
    public const string EspeakOnly = "espeak-ng only (earlier recipe)";

    /// <summary>
    /// <paramref name="options"/> with every voice augmentation on: Festival share 0.5, vocal-tract warp ±10 %, tempo
    /// ±15 %, a synthetic room for half the words (the speed change, noise and band limit keep their settings).
    /// </summary>
    public static KeywordDatasetOptions WithVoiceAugmentation(KeywordDatasetOptions options) =>
        options with { FestivalShare = 0.5, VocalTractWarp = 0.1, TempoPerturbation = 0.15, ReverbShare = 0.5 };

    /// <summary>The two recipes every model is compared on: <paramref name="baseline"/> (espeak-ng only) and the full one.</summary>
    public static IReadOnlyList<VoiceRecipe> EarlierAndFull(KeywordDatasetOptions baseline) =>
    [
        new(EspeakOnly, "no Festival, no warp, tempo or rooms", baseline),
        new(Full, "everything on", WithVoiceAugmentation(baseline)),
    ];

    /// <summary>
    /// The ablation on <paramref name="baseline"/> (the espeak-ng-only options): <see cref="EarlierAndFull"/>, then the full
    /// recipe without each part in turn. <paramref name="quick"/> keeps the first two only.
    /// </summary>
    public static IReadOnlyList<VoiceRecipe> Ablation(KeywordDatasetOptions baseline, bool quick = false)
    {
        var recipes = EarlierAndFull(baseline).ToList();
        if (quick) return recipes;
        var full = recipes[1].Options;
        recipes.AddRange(
        [
            new("full − Festival voices", "espeak-ng voices only", full with { FestivalShare = 0 }),
            new("full − vocal-tract warp", "VocalTractWarp = 0", full with { VocalTractWarp = 0 }),
            new("full − tempo", "TempoPerturbation = 0", full with { TempoPerturbation = 0 }),
            new("full − rooms", "ReverbShare = 0", full with { ReverbShare = 0 }),
            new("full − speed change", "SpeedPerturbation = 0", full with { SpeedPerturbation = 0 }),
            new("full − telephone band limit", "TelephoneShare = 0", full with { TelephoneShare = 0 }),
            new("full − noise", "NoiseShare = 0", full with { NoiseShare = 0 }),
        ]);
        return recipes;
    }
}
