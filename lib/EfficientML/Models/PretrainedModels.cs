using EfficientML.Core;

namespace EfficientML.Models;

/// <summary>
/// The tiny pretrained model every technique starts from: a byte-level TinyGpt trained on the Moby-Dick
/// training split by <c>dotnet run -c Release --project lib/EfficientML.Cli -- pretrain</c> with this recipe.
/// </summary>
public static class PretrainedModels
{
    /// <summary>File name under datasets/models.</summary>
    public const string TinyMobyFile = "tinygpt-moby.safetensors";

    /// <summary>Seed of the initial weights (the batch sampler's seed is in <see cref="TinyMobyTraining"/>).</summary>
    public const long TinyMobySeed = 20261129;

    /// <summary>
    /// 8 layers of width 128 (4 heads of 64), MLP 512, 256-byte context, tied head: about 1.65 M parameters.
    /// Narrow enough to grow 2-3x, deep enough that its first layers make a cheap speculative draft.
    /// </summary>
    public static TinyGptConfig TinyMobyConfig { get; } = new()
    {
        VocabSize = 256, ContextLength = 256, Layers = 8, Dim = 128, Heads = 4, KvHeads = 4, MlpDim = 512, TiedHead = true,
    };

    /// <summary>Training recipe: 32 x 256 bytes per step, peak learning rate 3e-3 with warmup and cosine decay.</summary>
    public static TrainingOptions TinyMobyTraining { get; } = new()
    {
        Steps = 1500, BatchSize = 32, BlockSize = 256, LearningRate = 3e-3, WarmupSteps = 100, MinLearningRateRatio = 0.1,
        WeightDecay = 0.1, GradientClip = 1.0, EvalEvery = 100, EvalBatches = 8, Seed = 1337,
    };

    /// <summary>Path of the shipped model file.</summary>
    public static string TinyMobyPath => ProjectPaths.Dataset("models", TinyMobyFile);

    /// <summary>Loads the shipped model (CPU, float32, eval mode).</summary>
    public static TinyGpt LoadTinyMoby()
    {
        var path = TinyMobyPath;
        if (!File.Exists(path))
            throw new MissingFileException(
                $"The pretrained model is missing at '{path}'. Restore it from the repository (git checkout -- datasets/models) " +
                "or retrain it: dotnet run -c Release --project lib/EfficientML.Cli -- pretrain", path);
        var model = TinyGpt.Load(path);
        model.eval();
        return model;
    }
}
