using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientML.Interactive;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Events;

namespace EfficientML.Fuzz;

/// <summary>
/// The child process that hosts a notebook kernel (a composite with a C# kernel, the extension loaded as a notebook's
/// first cell loads it) and runs the submissions <see cref="MagicWorkerClient"/> sends, one JSON line each on stdin;
/// it answers one line each on stdout, prefixed with <see cref="Prefix"/> (anything else on stdout is the library's).
/// A crash or a runaway thread then ends this process, not the test run.
/// </summary>
static class MagicWorker
{
    public const string Prefix = "@@fuzz ";

    /// <summary>The cells run before fuzzing: the small models and variables the plausible submissions use.</summary>
    public static readonly string[] SetupCells =
    [
        "var quick = true;",
        "#!model --name m --layers 1 --dim 16 --heads 2 --mlp 32 --context 32",
        "#!model --name m2 --layers 1 --dim 16 --heads 2 --mlp 32 --context 32 --seed 7",
        "#!model --name d --layers 2 --dim 32 --heads 2 --mlp 64 --context 64",
        // A draft for d (same context) and a TinyGpt made in C#, which a magic registers the first time it names it.
        "#!model --name dd --layers 1 --dim 16 --heads 2 --mlp 32 --context 64",
        "var cs = new EfficientML.Models.TinyGpt(new EfficientML.Models.TinyGptConfig { Layers = 1, Dim = 16, Heads = 2, KvHeads = 2, MlpDim = 32, ContextLength = 32 }, seed: 5);",
        "var rep = new EfficientML.Reparam.RepCnn(new EfficientML.Reparam.RepCnnConfig { Classes = 4, Channels = [8, 8] });",
        "var feats = TorchSharp.torch.randn(4, 40, 98);",
        // An untrained gated conformer spotter (its gates start open), for #!gates.
        "var cg = new EfficientML.GatedConformer.ConformerSpotter(new EfficientML.GatedConformer.GatedConformerConfig { Width = 32, Blocks = 2, FeedForwardWidth = 64 });",
        // An untrained SLiCK model, for #!kws-match (a small one: matching and scanning run to the end).
        "var sk = new EfficientML.Slick.SlickModel(new EfficientML.Slick.SlickModelConfig { Width = 16, Heads = 2, HeadHidden = 8 });",
        // An untrained active speaker detector, for #!asd.
        "var asdm = new EfficientML.ActiveSpeaker.ActiveSpeakerModel(new EfficientML.ActiveSpeaker.ActiveSpeakerConfig { Past = 4, Future = 1 });",
        "var notAModel = 42;",
    ];

    static CompositeKernel _root = null!;
    static CSharpKernel _csharp = null!;
    static readonly object Gate = new();

    public static async Task<int> RunAsync()
    {
        var stdout = Console.Out;
        // The library and the kernel may write to stdout; answers go through this writer only, one whole line at a time.
        void Answer(JsonObject o) { lock (Gate) { stdout.WriteLine(Prefix + o.ToJsonString()); stdout.Flush(); } }
        try
        {
            _csharp = new CSharpKernel().UseKernelHelpers().UseValueSharing();
            _root = new CompositeKernel { _csharp };
            _root.DefaultKernelName = _csharp.Name;
            _csharp.AddAssemblyReferences([typeof(Kernel).Assembly.Location, typeof(NotebookExtension).Assembly.Location]);
            foreach (var cell in new[] { "EfficientML.Interactive.NotebookExtension.Load(Microsoft.DotNet.Interactive.Kernel.Root);" }.Concat(SetupCells))
            {
                var result = await _root.SendAsync(new SubmitCode(cell, _csharp.Name));
                if (result.Events.OfType<CommandFailed>().FirstOrDefault() is { } failed)
                    throw new InvalidOperationException($"setup cell '{cell}' failed: {failed.Message}");
            }
            Answer(new JsonObject { ["ready"] = true, ["catalog"] = Catalog() });
        }
        catch (Exception e)
        {
            Answer(new JsonObject { ["ready"] = false, ["error"] = e.ToString() });
            return 1;
        }

        while (Console.In.ReadLine() is { } line)
        {
            var request = JsonNode.Parse(line)!.AsObject();
            var op = (string)request["op"]!;
            if (op == "exit") break;
            if (op == "submit")
            {
                JsonObject answer;
                try { answer = await SubmitAsync(request); }
                catch (Exception e) { answer = new JsonObject { ["workerError"] = e.ToString() }; }
                answer["id"] = request["id"]?.DeepClone();
                Answer(answer);
            }
        }
        _root.Dispose();
        return 0;
    }

    /// <summary>Every registered magic with its parameters, as the kernel has them.</summary>
    static JsonArray Catalog()
    {
        var session = NotebookSession.Of(_root) ?? throw new InvalidOperationException("The extension is not loaded.");
        var directives = _root.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().ToDictionary(d => d.Name, StringComparer.Ordinal);
        var catalog = new JsonArray();
        foreach (var (name, _) in session.Magics.Added)
        {
            var parameters = new JsonArray();
            if (directives.TryGetValue(name, out var directive))
                foreach (var p in directive.Parameters)
                    parameters.Add(new JsonObject { ["name"] = p.Name, ["flag"] = p.Flag, ["implicit"] = p.AllowImplicitName, ["typeHint"] = p.TypeHint });
            catalog.Add(new JsonObject { ["name"] = name, ["found"] = directive != null, ["parameters"] = parameters });
        }
        return catalog;
    }

    static (HashSet<string> Variables, HashSet<string> Models) State()
    {
        var session = NotebookSession.Of(_root)!;
        var variables = _csharp.ScriptState?.Variables.Select(v => v.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        return (variables, session.Models.Names.ToHashSet(StringComparer.Ordinal));
    }

    static async Task<JsonObject> SubmitAsync(JsonObject request)
    {
        var code = (string)request["code"]!;
        var timeout = TimeSpan.FromMilliseconds((double)request["timeoutMs"]!);
        double? cancelAfter = (double?)request["cancelAfterMs"];
        var (varsBefore, modelsBefore) = State();
        var clock = Stopwatch.StartNew();
        var submission = _root.SendAsync(new SubmitCode(code, _csharp.Name));
        bool cancelled = false, timedOut = false, endedAfterCancel = true;
        TimeSpan cancelAt = default;
        if (cancelAfter is double after)
        {
            await Task.WhenAny(submission, Task.Delay(TimeSpan.FromMilliseconds(after)));
            cancelled = true;
        }
        else if (await Task.WhenAny(submission, Task.Delay(timeout)) != submission)
        {
            cancelled = timedOut = true;
        }
        if (cancelled)
        {
            cancelAt = clock.Elapsed;
            await _root.SendAsync(new Cancel());
            // An interrupt that reaches .NET Interactive before it has scheduled the cell is not seen at all (the cell
            // runs on and is not answered "cancelled"); a user interrupts again, and so does the worker, once.
            if (await Task.WhenAny(submission, Task.Delay(500)) != submission) await _root.SendAsync(new Cancel());
            endedAfterCancel = await Task.WhenAny(submission, Task.Delay(FuzzMode.ProbeTimeout)) == submission;
        }
        var elapsed = clock.Elapsed;
        var events = submission.IsCompletedSuccessfully ? submission.Result.Events : [];
        var failures = events.OfType<CommandFailed>().Select(f => f.Message ?? "").ToList();
        var errors = events.OfType<ErrorProduced>().Select(e => e.Message ?? "").ToList();

        // Rule 1: the kernel answers 1 + 1 with 2 within 10 s.
        var probeClock = Stopwatch.StartNew();
        var probe = _root.SendAsync(new SubmitCode("1 + 1", _csharp.Name));
        string? probeProblem = null;
        if (await Task.WhenAny(probe, Task.Delay(FuzzMode.ProbeTimeout)) != probe)
            probeProblem = $"1 + 1 did not answer within {FuzzMode.ProbeTimeout.TotalSeconds:0} s";
        else if (probe.Result.Events.OfType<CommandFailed>().FirstOrDefault() is { } pf)
            probeProblem = $"1 + 1 failed: {pf.Message}";
        else if (probe.Result.Events.OfType<ReturnValueProduced>().FirstOrDefault()?.Value is not 2)
            probeProblem = $"1 + 1 returned {probe.Result.Events.OfType<ReturnValueProduced>().FirstOrDefault()?.Value ?? "nothing"}";

        var (varsAfter, modelsAfter) = probeProblem == null ? State() : (varsBefore, modelsBefore);
        return new JsonObject
        {
            ["completed"] = submission.IsCompleted,
            ["timedOut"] = timedOut,
            ["cancelled"] = cancelled,
            ["endedAfterCancel"] = endedAfterCancel,
            ["msSinceCancel"] = cancelled ? (clock.Elapsed - cancelAt).TotalMilliseconds : null,
            ["elapsedMs"] = Math.Round(elapsed.TotalMilliseconds, 1),
            ["failures"] = new JsonArray(failures.Select(f => (JsonNode)f).ToArray()),
            ["errors"] = new JsonArray(errors.Select(f => (JsonNode)f).ToArray()),
            ["displays"] = events.OfType<DisplayEvent>().Count(),
            ["probeProblem"] = probeProblem,
            ["probeMs"] = Math.Round(probeClock.Elapsed.TotalMilliseconds, 1),
            ["newVariables"] = new JsonArray(varsAfter.Except(varsBefore).Order(StringComparer.Ordinal).Select(n => (JsonNode)n).ToArray()),
            ["newModels"] = new JsonArray(modelsAfter.Except(modelsBefore).Order(StringComparer.Ordinal).Select(n => (JsonNode)n).ToArray()),
        };
    }
}
