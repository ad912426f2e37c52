using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// TinyGpt's training throughput and its model-FLOPs utilisation against this machine's measured matmul rate,
/// and generation speed with and without the KV cache.
/// </summary>
public sealed class TinyGptSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "tinygpt";

    /// <inheritdoc />
    public string Description => "training tokens/s and model FLOPs utilisation; generation tokens/s, KV cache vs none";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        var device = Devices.Default;
        var config = PretrainedModels.TinyMobyConfig;
        var rows = new List<Measurement>();

        var matmul = MachineLimits.MatmulFlops(device, quick ? 512 : 1024, quick ? 5 : 30);
        rows.Add(new("matmul float32 FLOP/s", matmul, "FLOP/s", Note: $"{(quick ? 512 : 1024)}² x {(quick ? 512 : 1024)}², {device.type}"));
        log.WriteLine($"matmul: {matmul / 1e9:F1} GFLOP/s");

        using var corpus = TextCorpus.MobyDick();
        using var model = new TinyGpt(config, seed: 1);
        model.to(device);
        int steps = quick ? 4 : 30;
        var options = new TrainingOptions { Steps = steps + 2, BatchSize = 32, BlockSize = config.ContextLength, EvalEvery = 0, EvalBatches = 1, WarmupSteps = 2 };
        var run = LanguageModelTraining.Train(model, corpus, options);
        var timed = run.Steps.Skip(2).ToList(); // the first steps allocate optimizer state and warm caches
        var tokensPerSecond = timed.Count * (double)run.TokensPerStep / timed.Sum(s => run.TokensPerStep / s.TokensPerSecond);
        var flopsPerToken = TrainingFlops.PerToken(config);
        rows.Add(new("training tokens/s", tokensPerSecond, "tokens/s", Note: $"batch 32 x {config.ContextLength}, {model.ParameterCount:N0} parameters"));
        rows.Add(new("training model FLOP/s", tokensPerSecond * flopsPerToken, "FLOP/s", Note: $"{flopsPerToken / 1e6:F1} MFLOP per token (6N + attention)"));
        rows.Add(new("model FLOPs utilisation", tokensPerSecond * flopsPerToken / matmul, "fraction", "matmul FLOP/s", tokensPerSecond * flopsPerToken / matmul));
        log.WriteLine($"training: {tokensPerSecond:F0} tokens/s");

        model.eval();
        var prompt = ByteTokenizer.Instance.Encode("Call me Ishmael. ");
        int tokens = quick ? 24 : 200;
        var uncached = GenerationRate(model, prompt, tokens, useCache: false);
        var cached = GenerationRate(model, prompt, tokens, useCache: true);
        rows.Add(new("generation tokens/s, no cache", uncached, "tokens/s", Note: $"{tokens} tokens after a {prompt.Length}-token prompt, greedy"));
        rows.Add(new("generation tokens/s, KV cache", cached, "tokens/s", "no cache", cached / uncached));
        log.WriteLine($"generation: {uncached:F0} tokens/s without cache, {cached:F0} with");

        int runs = quick ? 10 : 50;
        var (first, last) = RepeatedTrainingMemory(corpus, runs, quick);
        rows.Add(new($"resident memory after {runs} training runs", last / 1e6, "MB", "after the first run", last / first,
            $"each run 20 steps on a pool thread, as #!train does; {first / 1e6:F0} MB after the first"));
        log.WriteLine($"memory: {first / 1e6:F0} MB after 1 run, {last / 1e6:F0} MB after {runs}");
        return rows;
    }

    /// <summary>
    /// Resident memory after the first and the last of <paramref name="runs"/> short training runs of a small model,
    /// each on a thread-pool thread (the notebook magic trains off the kernel thread). Measured after a full GC.
    /// </summary>
    static (double First, double Last) RepeatedTrainingMemory(TextCorpus corpus, int runs, bool quick)
    {
        using var model = new TinyGpt(new TinyGptConfig { Layers = 2, Dim = 64, Heads = 2, KvHeads = 2, MlpDim = 256, ContextLength = 128 }, seed: 1);
        var options = new TrainingOptions { Steps = quick ? 5 : 20, BatchSize = 16, BlockSize = 128, WarmupSteps = 2, EvalEvery = 10, EvalBatches = 8 };
        double first = 0, last = 0;
        for (int i = 1; i <= runs; i++)
        {
            Task.Run(() => LanguageModelTraining.Train(model, corpus, options)).Wait();
            if (i == 1) first = ResidentBytes();
            if (i == runs) last = ResidentBytes();
        }
        return (first, last);
    }

    static double ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    static double GenerationRate(TinyGpt model, int[] prompt, int tokens, bool useCache)
    {
        model.Generate(prompt, new GenerationOptions { MaxNewTokens = 4, UseCache = useCache }); // warm up
        var clock = Stopwatch.StartNew();
        var produced = model.Generate(prompt, new GenerationOptions { MaxNewTokens = tokens, UseCache = useCache });
        return produced.Length / clock.Elapsed.TotalSeconds;
    }
}
