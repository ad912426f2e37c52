using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace EfficientML.Fuzz;

/// <summary>
/// Every registered magic against seeded hostile and plausible lines, in a kernel in a child process (so a crash or a
/// runaway thread is seen, not suffered). Per submission: the kernel answers 1 + 1 afterwards, a failure's message has no
/// stack frames, native frames, .NET type names, parameter suffixes or parser codes, resident memory stays under budget,
/// a failure leaves no new C# variable or registered model, the process does not crash, and its CPU goes idle.
/// </summary>
public class MagicFuzzTests(ITestOutputHelper output)
{
    /// <summary>A folder with a valid TinyGpt file, corrupted ones, an empty file and a named pipe, for --from.</summary>
    static FuzzPaths MakePaths(int seed)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"efficientml-fuzz-magics-{seed}-{Environment.ProcessId}");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var bases = FileCorpus.Create(Path.Combine(folder, "base"));
        var corruptor = new FileCorruptor(bases, seed);
        var corrupted = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            var f = corruptor.Next(i % 3 == 2 ? "palettized" : "tinygpt");
            corrupted.Add(CheckFilesRunner.Place(folder, f, i).Path);
        }
        var pipe = CheckFilesRunner.Place(folder, new FuzzFile("tinygpt", "-", "path: named pipe", FileLabel.Detectable, null) { SpecialPath = "named pipe" }, 100).Path;
        var empty = CheckFilesRunner.Place(folder, new FuzzFile("tinygpt", "-", "path: empty file", FileLabel.Detectable, null) { SpecialPath = "empty file" }, 101).Path;
        return new FuzzPaths(Path.Combine(folder, "base"), Path.Combine(folder, "base", "tied.safetensors"), corrupted, empty, pipe,
            Path.Combine(folder, "missing.safetensors"));
    }

    static Checks.SubmissionOutcome Outcome(MagicWorkerClient.Result r, long budget)
    {
        var a = r.Answer;
        List<string> Strings(string key) => a?[key]?.AsArray().Select(n => (string)n!).ToList() ?? [];
        return new Checks.SubmissionOutcome
        {
            Completed = a?["completed"]?.GetValue<bool>() == true,
            TimedOut = a?["timedOut"]?.GetValue<bool>() == true,
            EndedAfterCancel = a?["endedAfterCancel"]?.GetValue<bool>() != false,
            Failures = Strings("failures").Concat(Strings("errors")).ToList(),
            ProbeOk = a != null && a["probeProblem"] is null && a["workerError"] is null,
            ProbeProblem = (string?)a?["probeProblem"] ?? (string?)a?["workerError"],
            NewVariables = Strings("newVariables"),
            NewModels = Strings("newModels"),
            PeakRssBytes = r.PeakRssBytes,
            MemoryBudgetBytes = budget,
            Crashed = r.Crashed,
            CrashDetail = r.CrashDetail,
            BusyAfterEnd = r.BusyAfterEnd,
        };
    }

    static string Label(Checks.SubmissionOutcome o) =>
        o.Crashed ? "crash" : o.TimedOut ? "hang" : !o.Completed ? "not ended" : o.Failures.Count > 0 ? "failed" : "succeeded";

    /// <summary>A worker whose state cannot be trusted any more (it hung, crashed, spun or grew) is replaced.</summary>
    static bool Suspect(Checks.SubmissionOutcome o) =>
        o.Crashed || o.TimedOut || !o.Completed || !o.ProbeOk || o.BusyAfterEnd != null || o.PeakRssBytes > o.MemoryBudgetBytes;

    [Fact]
    public void Magic_submissions_break_nothing()
    {
        var mode = FuzzMode.Current;
        var clock = Stopwatch.StartNew();
        var paths = MakePaths(mode.Seed);
        long budget = (long)(ProcessStats.MemAvailableBytes() * 0.8);
        var client = MagicWorkerClient.Start(paths.Folder);
        output.WriteLine($"worker started in {client.StartTime.TotalSeconds:0.0} s; memory budget {budget / 1e9:0.0} GB (MemAvailable × 0.8)");
        var catalog = client.Catalog;
        Assert.True(catalog.Count >= 10, $"only {catalog.Count} magics registered");
        Assert.All(catalog, m => Assert.True(m!["found"]!.GetValue<bool>(), $"{m["name"]}: no directive with its parameters"));

        // The harness must see what it looks for: a C# exception's stack trace, and work that goes on after the cell ends.
        var thrown = Outcome(client.Submit("throw new System.InvalidOperationException(\"deliberate\");"), budget);
        Assert.Contains(Checks.Submission("C#", "throw", thrown), v => v.Class.StartsWith("message:", StringComparison.Ordinal));
        var spinning = Outcome(client.Submit("System.Threading.Tasks.Task.Run(() => { var end = System.DateTime.UtcNow.AddSeconds(7); while (System.DateTime.UtcNow < end) { } });"), budget);
        Assert.Contains(Checks.Submission("C#", "spin", spinning), v => v.Class == "busy after end");
        Thread.Sleep(2500);

        var generator = new MagicGenerator(catalog, paths, mode.Seed);
        var report = new FuzzReport("magics", "magic");
        int restarts = 0, retired = 0, served = 0;
        var progress = Path.Combine(FuzzReport.RepositoryRoot(), "artifacts", "fuzz", $"{mode.Name}-{mode.Seed}.magics.log");
        Directory.CreateDirectory(Path.GetDirectoryName(progress)!);
        File.WriteAllText(progress, "");
        var fixedInputs = generator.Fixed();
        for (int i = 0; i < mode.Submissions; i++)
        {
            var input = i < fixedInputs.Count ? fixedInputs[i] : generator.Next();
            if (client is null)
            {
                client = MagicWorkerClient.Start(paths.Folder);
                served = 0;
            }
            var r = client.Submit(input.Line);
            var o = Outcome(r, budget);
            var violations = Checks.Submission(input.Magic, input.Line, o);
            report.Count(input.Magic, Label(o));
            report.Add(violations);
            report.Record(new JsonObject
            {
                ["index"] = i, ["magic"] = input.Magic, ["kind"] = input.Kind, ["line"] = input.Line, ["outcome"] = Label(o),
                ["seconds"] = Math.Round(r.Wall.TotalSeconds, 2), ["peakRssMB"] = Math.Round(r.PeakRssBytes / 1e6),
                ["failure"] = o.Failures.FirstOrDefault(), ["violations"] = new JsonArray(violations.Select(v => (JsonNode)v.Class).ToArray()),
            });
            File.AppendAllText(progress, $"{i} {clock.Elapsed.TotalSeconds:0} s {Label(o)} {r.Wall.TotalSeconds:0.0} s {r.PeakRssBytes / 1e6:0} MB {string.Join(",", violations.Select(v => v.Class))} | {input.Line[..Math.Min(200, input.Line.Length)]}\n");
            if (Suspect(o))
            {
                client.KillNow();
                client = null;
                restarts++;
            }
            else if (++served >= FuzzMode.SubmissionsPerWorker)
            {
                client.Dispose();
                client = null;
                retired++;
            }
        }
        client?.Dispose();
        var summary = report.Summary(clock.Elapsed);
        output.WriteLine(summary);
        output.WriteLine($"{restarts} workers replaced after a suspect outcome; {retired} retired after {FuzzMode.SubmissionsPerWorker:N0} submissions");
        var path = report.Write(mode, clock.Elapsed, new JsonObject
        {
            ["memoryBudgetBytes"] = budget, ["workerRestarts"] = restarts, ["workersRetired"] = retired, ["submissionsPerWorker"] = FuzzMode.SubmissionsPerWorker,
        });
        output.WriteLine($"report: {path}");
        try { Directory.Delete(Path.GetDirectoryName(paths.Folder)!, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        Assert.True(report.Violations.Count == 0,
            $"{report.Violations.Count} violations in {mode.Submissions} submissions (seed {mode.Seed}; {path}):\n{summary}\n{report.First(25)}");
    }

    /// <summary>Long requests, cancelled after 1 ms and after 1 s.</summary>
    public static readonly string[] LongRequests =
    [
        "#!train --model m --steps 100000",
        "#!keywords --speakers 200 --no-cache",
        "#!reparam --model rep --repeats 100000",
    ];

    [Fact]
    public void Cancelling_long_magics_frees_the_kernel_and_the_cpu()
    {
        var mode = FuzzMode.Current;
        var clock = Stopwatch.StartNew();
        var paths = MakePaths(mode.Seed);
        long budget = (long)(ProcessStats.MemAvailableBytes() * 0.8);
        var report = new FuzzReport("cancellation", "request");
        MagicWorkerClient? client = null;
        foreach (var line in LongRequests)
            foreach (var delay in new[] { TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1) })
            {
                client ??= MagicWorkerClient.Start(paths.Folder);
                var r = client.Submit(line, cancelAfter: delay, idleWindow: TimeSpan.FromMilliseconds(500));
                var o = Outcome(r, budget);
                var input = $"{line}  (Cancel after {delay.TotalMilliseconds:0} ms)";
                var violations = new List<Violation>();
                if (o.Crashed) violations.Add(new("crash", line, input, o.CrashDetail ?? ""));
                if (!o.Crashed && !o.EndedAfterCancel) violations.Add(new("cancel: cell still running", line, input, "the cell had not ended 10 s after Cancel"));
                if (!o.Crashed && !o.ProbeOk) violations.Add(new("cancel: kernel blocked", line, input, o.ProbeProblem ?? ""));
                if (o.BusyAfterEnd != null) violations.Add(new("cancel: CPU still busy", line, input, o.BusyAfterEnd + " (idle required within 5 s of the Cancel)"));
                foreach (var message in o.Failures)
                    foreach (var (cls, match) in Checks.MessageProblems(message))
                        violations.Add(new(cls, line, input, $"matched '{match}'", message));
                report.Count(line, Label(o));
                report.Add(violations);
                report.Record(new JsonObject
                {
                    ["request"] = line, ["cancelAfterMs"] = delay.TotalMilliseconds, ["outcome"] = Label(o), ["endedAfterCancel"] = o.EndedAfterCancel,
                    ["msSinceCancelAtAnswer"] = r.Answer?["msSinceCancel"]?.DeepClone(), ["probe"] = o.ProbeProblem ?? "2",
                    ["busy"] = o.BusyAfterEnd, ["failure"] = o.Failures.FirstOrDefault(),
                });
                output.WriteLine($"{input}: {Label(o)}; {(violations.Count == 0 ? "ok" : string.Join("; ", violations.Select(v => $"{v.Class}: {v.Detail}")))}");
                // A worker left spinning would skew the next measurement.
                if (violations.Count > 0 || Suspect(o)) { client.KillNow(); client = null; }
            }
        client?.Dispose();
        var summary = report.Summary(clock.Elapsed);
        output.WriteLine(summary);
        var path = report.Write(mode, clock.Elapsed);
        try { Directory.Delete(Path.GetDirectoryName(paths.Folder)!, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        Assert.True(report.Violations.Count == 0, $"{report.Violations.Count} violations ({path}):\n{summary}\n{report.First(12)}");
    }
}
