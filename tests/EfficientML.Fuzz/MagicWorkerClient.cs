using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace EfficientML.Fuzz;

/// <summary>
/// Starts <see cref="MagicWorker"/> in a child process and sends it submissions; while one runs, samples the child's
/// resident memory (peak) from /proc. After each, checks that its CPU use drops to idle.
/// </summary>
sealed class MagicWorkerClient : IDisposable
{
    readonly Process _process;
    readonly BlockingCollection<string> _answers = new();
    readonly ConcurrentQueue<string> _stderr = new();
    int _nextId;

    public int Pid => _process.Id;
    public JsonArray Catalog { get; private set; } = [];
    public TimeSpan StartTime { get; private set; }
    public bool Exited => _process.HasExited;

    MagicWorkerClient(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { _answers.CompleteAdding(); return; }
            if (e.Data.StartsWith(MagicWorker.Prefix, StringComparison.Ordinal)) _answers.Add(e.Data[MagicWorker.Prefix.Length..]);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            _stderr.Enqueue(e.Data);
            while (_stderr.Count > 200) _stderr.TryDequeue(out string? _);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Starts a worker in <paramref name="workingDirectory"/> and waits (up to 3 minutes) for its kernel and setup cells.</summary>
    public static MagicWorkerClient Start(string workingDirectory)
    {
        var clock = Stopwatch.StartNew();
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "exec", typeof(MagicWorker).Assembly.Location, "magic-worker" },
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["EFFICIENTML_THREADS"] = "1";
        var client = new MagicWorkerClient(Process.Start(info) ?? throw new InvalidOperationException("could not start the worker"));
        string? ready = null;
        try { client._answers.TryTake(out ready, TimeSpan.FromMinutes(3)); } catch (InvalidOperationException) { }
        var o = ready is null ? null : JsonNode.Parse(ready)!.AsObject();
        if (o?["ready"]?.GetValue<bool>() != true)
        {
            Kill(client._process);
            throw new InvalidOperationException($"the worker did not start: {o?["error"]?.ToString() ?? "no answer within 3 minutes"}\n{client.StderrTail()}");
        }
        client.Catalog = o["catalog"]!.AsArray();
        // A fresh kernel keeps compiling in the background for seconds after its setup cells (the runtime's tiered JIT);
        // whether a cell leaves the CPU busy can only be judged from a process that was idle before it.
        ProcessStats.WaitForIdle(client.Pid, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
        client.StartTime = clock.Elapsed;
        return client;
    }

    /// <summary>What the parent saw of one submission, with the worker's answer (null when the process died or never answered).</summary>
    public sealed record Result(JsonObject? Answer, long PeakRssBytes, bool Crashed, string? CrashDetail, string? BusyAfterEnd, TimeSpan Wall);

    /// <summary>
    /// Sends <paramref name="code"/>; the worker cancels it after <paramref name="cancelAfter"/> (a cancellation test) or
    /// after the submission timeout. Then waits for idle CPU (within 5 s of the cancel, or of the end).
    /// </summary>
    public Result Submit(string code, TimeSpan? cancelAfter = null, TimeSpan? idleWindow = null)
    {
        var clock = Stopwatch.StartNew();
        long peak = ProcessStats.ResidentBytes(Pid);
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, ProcessStats.ResidentBytes(Pid));
                try { await Task.Delay(25, sampling.Token); } catch (OperationCanceledException) { }
            }
        });
        var request = new JsonObject
        {
            ["op"] = "submit", ["id"] = ++_nextId, ["code"] = code,
            ["timeoutMs"] = FuzzMode.SubmissionTimeout.TotalMilliseconds,
            ["cancelAfterMs"] = cancelAfter?.TotalMilliseconds,
        };
        JsonObject? answer = null;
        string? crash = null;
        try
        {
            _process.StandardInput.WriteLine(request.ToJsonString());
            _process.StandardInput.Flush();
            // The worker answers within the timeout, plus 10 s for the cell to end after Cancel, plus 10 s for 1 + 1.
            var limit = FuzzMode.SubmissionTimeout + (cancelAfter ?? TimeSpan.Zero) + 2 * FuzzMode.ProbeTimeout + TimeSpan.FromSeconds(15);
            if (_answers.TryTake(out var line, limit)) answer = JsonNode.Parse(line)!.AsObject();
        }
        catch (IOException) { }
        catch (InvalidOperationException) { }
        sampling.Cancel();
        sampler.Wait();
        if (answer is null)
        {
            Thread.Sleep(200);
            crash = _process.HasExited
                ? $"the kernel process ended (exit code {_process.ExitCode}); stderr: {StderrTail()}"
                : "the kernel process stopped answering (no reply to the submission and its 1 + 1 probe)";
        }
        string? busy = null;
        if (answer != null && !_process.HasExited)
        {
            // Idle within 5 s of the cancel, or (for a cell that ended by itself) within 5 s of its end.
            var sinceCancel = answer["msSinceCancel"] is JsonNode n ? TimeSpan.FromMilliseconds((double)n) : TimeSpan.Zero;
            var deadline = TimeSpan.FromSeconds(5) - sinceCancel;
            busy = ProcessStats.WaitForIdle(Pid, idleWindow ?? TimeSpan.FromMilliseconds(250), deadline < TimeSpan.FromMilliseconds(500) ? TimeSpan.FromMilliseconds(500) : deadline,
                since: sinceCancel, sinceWhat: answer["cancelled"]?.GetValue<bool>() == true ? "the Cancel" : "the cell ended");
        }
        return new Result(answer, peak, answer is null, crash, busy, clock.Elapsed);
    }

    public string StderrTail() => string.Join("\n", _stderr.TakeLast(20));

    static void Kill(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); p.WaitForExit(10_000); } catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("{\"op\":\"exit\"}");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(5_000)) Kill(_process);
            }
        }
        catch (IOException) { Kill(_process); }
        _process.Dispose();
    }

    /// <summary>Ends the worker at once (a hang, a runaway thread, memory over budget).</summary>
    public void KillNow()
    {
        Kill(_process);
        _process.Dispose();
    }
}
