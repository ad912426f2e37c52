using System.Diagnostics;
using System.Globalization;
using EfficientML.Core;
using EfficientML.Core.Numerics;
using EfficientML.Distributed;
using EfficientML.Models;
using EfficientML.Text;

// Command line for the library: train the shipped pretrained model, evaluate a model, generate text.
const string Usage = """
    efficientml pretrain [--out FILE] [--steps N] [--threads N] [--ranks P]
                                                                   train the tiny pretrained model (the shipped recipe); --ranks P: data parallel
                                                                   over P MPI processes (started with mpiexec.mpich), the same global batch
    efficientml data-parallel-check [--steps N]                    (inside mpiexec) a small model trained over the ranks against one process
                                                                   with the global batch: prints the largest weight difference
    efficientml evaluate [MODEL]                                   validation loss of a model (default: the shipped one)
    efficientml generate [MODEL] [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K]
    efficientml finalizer-stress [--iterations N]                  additions while another thread allocates: failures of TorchSharp's
                                                                   finalizer race (EFFICIENTML_FINALIZER_GUARD=off to see them)
    efficientml check-files KIND FILE...                           load each file as KIND (tinygpt, gpt2, palettized, onnx-lm, onnx-kws, wav)
                                                                   and print one JSON line per file: loaded, or refused with the message
    efficientml prefill [--processes P] [--model pretrained|timing] [--lengths N,N] [--methods runahead,allgather] [--shares A,B]
                        [--compare-even true] [--rounds R] [--check true|false]
                                                                   parallel prefill over P MPI processes (default 2, started with mpiexec.mpich);
                                                                   prints each run's chunks, time to first token and bytes sent
    efficientml numerics [--capabilities]                          float32 checks against float64 on this CPU (exit 1 if any fails);
                                                                   --capabilities: the ATEN_CPU_CAPABILITY values this CPU can run
    """;

try
{
    if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return 0; }
    var options = args[0] == "check-files" ? Options.Parse([]) : Options.Parse(args.Skip(1).ToArray());
    TorchThreads.Set(options.Int("threads", TorchThreads.DefaultCount));
    return args[0] switch
    {
        "pretrain" => Pretrain(options),
        "evaluate" => Evaluate(options),
        "generate" => Generate(options),
        "numerics" => Numerics(options),
        "prefill" => Prefill(options),
        "data-parallel-check" => DataParallelCheck(options),
        "finalizer-stress" => FinalizerStress(options),
        "check-files" => CheckFiles(args.Skip(1).ToArray()),
        _ => throw new InvalidSettingsException($"Unknown command '{args[0]}'.\n{Usage}"),
    };
}
catch (EfficientMLException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
finally
{
    MpiCommunicator.Shutdown();   // under mpiexec: every rank waits for the others here
}

static int Pretrain(Options o)
{
    int ranks = o.Int("ranks", 1);
    if (ranks < 1) throw new InvalidSettingsException($"--ranks needs at least 1 process (got {ranks}).");
    if (ranks > 1 && !MpiCommunicator.Launched)
    {
        // Start the same command in P processes; inside mpiexec each one is a rank of the data-parallel group.
        var job = MpiLauncher.Run(ranks, Environment.GetCommandLineArgs().Skip(1), threads: 1, timeout: TimeSpan.FromHours(12), onLine: Console.WriteLine);
        Console.Error.Write(job.Errors);
        return job.ExitCode;
    }
    var group = MpiCommunicator.Launched ? MpiCommunicator.World() : null;
    bool speaks = group is null || group.Rank == 0;
    var output = o.String("out", Path.Combine(ProjectPaths.Datasets, "models", PretrainedModels.TinyMobyFile));
    var recipe = PretrainedModels.TinyMobyTraining with { Steps = o.Int("steps", PretrainedModels.TinyMobyTraining.Steps) };
    using var corpus = TextCorpus.MobyDick();
    using var model = new TinyGpt(PretrainedModels.TinyMobyConfig, seed: PretrainedModels.TinyMobySeed);
    if (speaks)
        Console.WriteLine($"TinyGpt {model.ParameterCount:N0} parameters; {corpus.Train.shape[0]:N0} training / {corpus.Validation.shape[0]:N0} validation bytes; " +
                          $"{TorchThreads.Current} thread(s){(group is null ? "" : $" in each of {group.Size} MPI ranks, {recipe.BatchSize / group.Size} sequences each")}");
    var clock = Stopwatch.StartNew();
    int printedSteps = 0, printedEvaluations = 0;
    Action<TrainingRun> report = r =>
    {
        if (!speaks) return;
        var steps = r.Steps;
        var evaluations = r.Evaluations;
        if (steps.Count >= printedSteps + 25)
        {
            printedSteps = steps.Count;
            var s = steps[^1];
            Console.WriteLine($"step {s.Step,5}  loss {s.Loss:F4}  lr {s.LearningRate:G3}  {s.TokensPerSecond,7:F0} tok/s");
        }
        if (evaluations.Count > printedEvaluations)
        {
            printedEvaluations = evaluations.Count;
            var e = evaluations[^1];
            Console.WriteLine($"step {e.Step,5}  validation {e.ValidationLoss:F4} nats = {e.Bits:F4} bits/byte");
        }
    };
    var run = group is null
        ? LanguageModelTraining.Train(model, corpus, recipe, "pretrain", progress: report)
        : DataParallel.TrainLanguageModel(model, corpus, recipe, group, "pretrain", progress: report);
    if (!speaks) return run.Outcome == TrainingOutcome.Completed ? 0 : 1;
    if (run.Outcome != TrainingOutcome.Completed) throw new EfficientMLException($"Training did not complete: {run.Message}");
    var minutes = clock.Elapsed.TotalMinutes;
    var metadata = new Dictionary<string, string>
    {
        ["data"] = "datasets/text/moby-dick.txt.gz, training split (first 90 %)",
        ["seed"] = PretrainedModels.TinyMobySeed.ToString(CultureInfo.InvariantCulture),
        ["steps"] = recipe.Steps.ToString(CultureInfo.InvariantCulture),
        ["threads"] = TorchThreads.Current.ToString(CultureInfo.InvariantCulture),
        ["ranks"] = (group?.Size ?? 1).ToString(CultureInfo.InvariantCulture),
        ["training_minutes"] = minutes.ToString("F1", CultureInfo.InvariantCulture),
    };
    model.Save(output, "byte", metadata); // the weights are safe on disk before the (slower) full evaluation
    var validation = LanguageModelTraining.Evaluate(model, corpus);
    var bpb = validation / Math.Log(2);
    metadata["validation_bits_per_byte"] = bpb.ToString("F4", CultureInfo.InvariantCulture);
    model.Save(output, "byte", metadata);
    Console.WriteLine($"Saved {output} ({new FileInfo(output).Length / 1e6:F2} MB) after {minutes:F1} min; validation {validation:F4} nats/byte = {bpb:F4} bits/byte (whole split)");
    return 0;
}

static int Evaluate(Options o)
{
    using var model = LoadModel(o);
    using var corpus = TextCorpus.MobyDick();
    var loss = LanguageModelTraining.Evaluate(model, corpus);
    Console.WriteLine($"validation loss {loss:F4} nats/byte = {loss / Math.Log(2):F4} bits/byte over {corpus.Validation.shape[0]:N0} bytes");
    return 0;
}

static int Generate(Options o)
{
    using var model = LoadModel(o);
    var prompt = o.String("prompt", "Call me Ishmael.");
    var decoder = ByteTokenizer.Streaming();
    Console.Write(prompt);
    model.Generate(ByteTokenizer.Instance.Encode(prompt), new GenerationOptions
    {
        MaxNewTokens = o.Int("tokens", 200),
        Temperature = o.Double("temperature", 0.8),
        TopK = o.Int("top-k", 40),
    }, t => Console.Write(decoder.Push(t)));
    Console.WriteLine();
    return 0;
}

static int Prefill(Options o)
{
    var job = EfficientML.Prefill.MpiPrefill.Parse(o.Named);
    if (MpiCommunicator.Launched)
    {
        EfficientML.Prefill.MpiPrefill.Work(job, Console.Out);
        return 0;
    }
    // From a terminal: start the processes, then print what they measured.
    job = (job with { Processes = o.Int("processes", 2) }).Validate();
    Console.WriteLine($"{job.Processes} MPI processes, model '{job.Model}', one torch thread each");
    foreach (var r in EfficientML.Prefill.MpiPrefill.Run(job, TimeSpan.FromHours(1)))
    {
        var s = r.Summary;
        var check = s.MaxLogitDifference is double d ? $"; logits within {d:E1} of one process (largest |logit| {s.LogitScale:0.0}), cache within {s.MaxCacheDifference:E1}" : "";
        Console.WriteLine($"{r.Length,6} tokens  round {r.Round}  {s.Method,-9} chunks [{string.Join(", ", s.Chunks)}]  " +
                          $"first token after {s.TimeToFirstToken * 1000:0.0} ms, {s.BytesSent / 1e6:0.00} MB sent{check}");
    }
    return 0;
}

static int DataParallelCheck(Options o)
{
    var group = MpiCommunicator.World();
    var difference = DataParallel.Check(group, o.Int("steps", 5));
    if (group.Rank == 0) Console.WriteLine($"data-parallel-check ranks {group.Size} steps {o.Int("steps", 5)} max-difference {difference.ToString("R", CultureInfo.InvariantCulture)}");
    return 0;
}

static int Numerics(Options o)
{
    if (o.Flag("capabilities"))
    {
        foreach (var capability in CpuFeatures.Current.AtenCapabilities) Console.WriteLine(capability);
        return 0;
    }
    var environment = NumericsEnvironment.Collect();
    Console.Write(environment.ToText());
    return environment.Check.Final.Passed ? 0 : 1;
}

static int CheckFiles(string[] args)
{
    if (args.Length < 2) throw new InvalidSettingsException($"check-files needs a kind and at least one file.\n{Usage}");
    var kind = args[0];
    Func<string, IDisposable?> load = kind switch
    {
        "tinygpt" => path => TinyGpt.Load(path),
        "gpt2" => path => Gpt2Checkpoint.Load(path),
        "palettized" => path => EfficientML.Clustering.PalettizedModel.Load(path),
        "onnx-lm" => path => new EfficientML.Export.OnnxLanguageModel(path),
        "onnx-kws" => path => new EfficientML.Export.OnnxKeywordSpotter(path),
        "wav" => path => { EfficientML.Audio.WaveFile.Read(path); return null; },
        _ => throw new InvalidSettingsException($"Unknown kind '{kind}': use tinygpt, gpt2, palettized, onnx-lm, onnx-kws or wav."),
    };
    foreach (var path in args.Skip(1))
    {
        string outcome, message = "", type = "";
        try
        {
            using var loaded = load(path);
            outcome = "loaded";
        }
        catch (EfficientMLException e) { (outcome, message, type) = ("refused", e.Message, e.GetType().Name); }
        catch (Exception e) { (outcome, message, type) = ("failed", e.Message, e.GetType().FullName ?? e.GetType().Name); }
        Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { path, outcome, type, message }));
    }
    return 0;
}

static int FinalizerStress(Options o)
{
    int iterations = o.Int("iterations", 1_000_000);
    var (errors, wrong, elapsed) = DeferredNativeRelease.Stress(iterations);
    Console.WriteLine($"guard {(DeferredNativeRelease.Active ? "on" : "off: " + DeferredNativeRelease.Problem)}; " +
                      $"{iterations:N0} additions in {elapsed.TotalSeconds:F1} s: {errors} failed, {wrong} wrong values");
    return errors + wrong == 0 ? 0 : 1;
}

static TinyGpt LoadModel(Options o) => o.Positional is { } path ? TinyGpt.Load(path) : PretrainedModels.LoadTinyMoby();

/// <summary>--name value pairs, --flags (known by name) and at most one positional argument.</summary>
sealed class Options
{
    static readonly HashSet<string> Flags = ["capabilities"];
    readonly Dictionary<string, string> _named = new();
    readonly HashSet<string> _flags = new();
    public string? Positional { get; private set; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && Flags.Contains(args[i][2..])) o._flags.Add(args[i][2..]);
            else if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length) throw new InvalidSettingsException($"Option {args[i]} needs a value.");
                o._named[args[i][2..]] = args[++i];
            }
            else if (o.Positional is null) o.Positional = args[i];
            else throw new InvalidSettingsException($"Unexpected argument '{args[i]}'.");
        }
        return o;
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string? Named(string name) => _named.GetValueOrDefault(name);

    public string String(string name, string fallback) => _named.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback) =>
        _named.TryGetValue(name, out var v) ? int.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : throw new InvalidSettingsException($"--{name} needs a whole number, not '{v}'.") : fallback;

    public double Double(string name, double fallback) =>
        _named.TryGetValue(name, out var v) ? double.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : throw new InvalidSettingsException($"--{name} needs a number, not '{v}'.") : fallback;
}
