using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;

namespace EfficientML.Tests;

/// <summary>Small models and helpers shared by the tests.</summary>
static class TestModels
{
    static TestModels() => TorchThreads.Set(1);

    public static TinyGptConfig Small(int kvHeads = 4, bool tied = true, int layers = 3) => new()
    {
        VocabSize = 256, ContextLength = 48, Layers = layers, Dim = 32, Heads = 4, KvHeads = kvHeads, MlpDim = 64, TiedHead = tied,
    };

    public static TinyGpt Random(TinyGptConfig? config = null, long seed = 7)
    {
        var model = new TinyGpt(config ?? Small(), seed);
        model.eval();
        return model;
    }

    /// <summary>Overwrites every parameter with values large enough that a broken transform shows in the logits.</summary>
    public static void Scramble(torch.nn.Module model, long seed)
    {
        using var _ = torch.no_grad();
        var g = new torch.Generator((ulong)seed);
        foreach (var (name, p) in model.named_parameters())
        {
            using var r = torch.randn(p.shape, generator: g);
            if (name.Contains("ln_")) p.copy_(r * 0.3 + (name.EndsWith("weight") ? 1.0 : 0.0));
            else p.copy_(r * (1.0 / Math.Sqrt(p.shape[^1])) * (name.Contains("wte") || name.Contains("wpe") ? 3 : 1.5));
        }
    }

    public static torch.Tensor Tokens(long seed, int count, int vocab = 256)
    {
        var g = new torch.Generator((ulong)seed);
        return torch.randint(0, vocab, [1, count], generator: g, dtype: torch.int64);
    }

    /// <summary>Largest absolute difference between two tensors.</summary>
    public static double MaxAbsDiff(torch.Tensor a, torch.Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }

    /// <summary>Largest |a − b| as a share of the largest |a| (NaN anywhere gives NaN, which fails every bound).</summary>
    public static double MaxRelativeDiff(torch.Tensor expected, torch.Tensor actual)
    {
        using var d = (expected - actual).abs().max();
        using var scale = expected.abs().max();
        return d.item<float>() / Math.Max(scale.item<float>(), float.Epsilon);
    }

    /// <summary>Same shape and exactly the same values.</summary>
    public static bool Same(torch.Tensor a, torch.Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b).all();
        return eq.item<bool>();
    }

    public static string TempFile(string name) =>
        Path.Combine(Path.GetTempPath(), "efficientml-tests", Guid.NewGuid().ToString("N"), name);
}
