using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace EfficientML.Fuzz;

/// <summary>A fuzz file written to disk: where it is.</summary>
public sealed record PlacedFile(FuzzFile File, string Path, int Index)
{
    public string Input => $"{File.Kind} {Path}  [{File.Base}: {File.Description}; {File.Label.ToString().ToLowerInvariant()}]";
}

/// <summary>What happened to one placed file: check-files' line, or a crash or hang of the process while on it.</summary>
public sealed record FileResult(PlacedFile Placed, Checks.FileOutcome? Outcome, string? ProcessProblem, string? ProcessDetail, long PeakRssBytes);

/// <summary>
/// Writes fuzz files into a folder and loads them with <c>dotnet exec EfficientML.Cli.dll check-files KIND FILE…</c> in child
/// processes, <see cref="FuzzMode.FilesPerProcess"/> at a time. A file on which the process dies (crash) or goes silent for
/// <see cref="FuzzMode.FileTimeout"/> (hang) is recorded as such, and the rest of its batch goes to a fresh process.
/// </summary>
public static class CheckFilesRunner
{
    [DllImport("libc", SetLastError = true)]
    static extern int mkfifo(string path, uint mode);

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "EfficientML.Cli.dll");

    static string Extension(string kind) => kind switch { "wav" => ".wav", "onnx-lm" or "onnx-kws" => ".onnx", _ => ".safetensors" };

    static string Slug(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
            if (sb.Length >= 48) break;
        }
        return sb.ToString().Trim('-');
    }

    /// <summary>Writes <paramref name="file"/> (and its config.json, or its special path) under <paramref name="folder"/>.</summary>
    public static PlacedFile Place(string folder, FuzzFile file, int index)
    {
        var name = $"{index:D5}-{Slug(file.Base)}-{Slug(file.Description)}{Extension(file.Kind)}";
        string path;
        if (file.SpecialPath is { } special)
        {
            var dir = Path.Combine(folder, "special", file.Kind);
            Directory.CreateDirectory(dir);
            path = Path.Combine(dir, Slug(special) + Extension(file.Kind));
            switch (special)
            {
                case "folder": Directory.CreateDirectory(path); break;
                case "/dev/zero" or "/proc/self/status": path = special; break;
                case "named pipe": if (!File.Exists(path) && mkfifo(path, Convert.ToUInt32("644", 8)) != 0) throw new IOException($"mkfifo {path} failed"); break;
                case "missing file": break;
                case "empty file": File.WriteAllBytes(path, []); break;
                case "symlink to /dev/zero": if (!File.Exists(path)) File.CreateSymbolicLink(path, "/dev/zero"); break;
                case "symlink loop":
                    if (!Path.Exists(path)) { File.CreateSymbolicLink(path, path + ".other"); File.CreateSymbolicLink(path + ".other", path); }
                    break;
                default: throw new ArgumentException(special);
            }
        }
        else if (file.ConfigJson != null || file.ConfigSpecial != null)
        {
            // A GPT-2 checkpoint with a config.json of its own: a folder each.
            var dir = Path.Combine(folder, $"{index:D5}-{Slug(file.Description)}");
            Directory.CreateDirectory(dir);
            path = Path.Combine(dir, "model.safetensors");
            File.WriteAllBytes(path, file.Bytes!);
            var config = Path.Combine(dir, "config.json");
            switch (file.ConfigSpecial)
            {
                case "fifo": if (mkfifo(config, Convert.ToUInt32("644", 8)) != 0) throw new IOException($"mkfifo {config} failed"); break;
                case "folder": Directory.CreateDirectory(config); break;
                default: File.WriteAllText(config, file.ConfigJson); break;
            }
        }
        else
        {
            path = Path.Combine(folder, name);
            File.WriteAllBytes(path, file.Bytes!);
        }
        return new PlacedFile(file, path, index);
    }

    /// <summary>Loads every file of one kind, in batches of child processes; one result per file, in order.</summary>
    public static List<FileResult> Run(string kind, IReadOnlyList<PlacedFile> files, Action<string>? log = null)
    {
        var results = new List<FileResult>();
        int next = 0;
        while (next < files.Count)
        {
            var batch = files.Skip(next).Take(FuzzMode.FilesPerProcess).ToList();
            var done = RunProcess(kind, batch, log);
            results.AddRange(done);
            next += done.Count;
        }
        return results;
    }

    /// <summary>One child process over <paramref name="batch"/>: results for the files it got through, plus the one it crashed or hung on.</summary>
    static List<FileResult> RunProcess(string kind, List<PlacedFile> batch, Action<string>? log)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(CliDll);
        info.ArgumentList.Add("check-files");
        info.ArgumentList.Add(kind);
        foreach (var f in batch) info.ArgumentList.Add(f.Path);
        info.Environment["EFFICIENTML_THREADS"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start check-files");
        var lines = new BlockingCollection<string>();
        var stderr = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is null) lines.CompleteAdding(); else if (e.Data.StartsWith("{\"path\"", StringComparison.Ordinal)) lines.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) { stderr.Enqueue(e.Data); while (stderr.Count > 50) stderr.TryDequeue(out string? _); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var results = new List<FileResult>();
        var sinceLast = Stopwatch.StartNew();
        long peak = 0;
        while (results.Count < batch.Count)
        {
            peak = Math.Max(peak, ProcessStats.ResidentBytes(process.Id));
            // The first file also waits for the process to start (and torch to load).
            var limit = results.Count == 0 ? FuzzMode.FileTimeout + TimeSpan.FromSeconds(30) : FuzzMode.FileTimeout;
            bool got;
            string? line = null;
            try { got = lines.TryTake(out line, 25); }
            catch (InvalidOperationException) { got = false; }
            if (got)
            {
                var o = JsonNode.Parse(line!)!.AsObject();
                var placed = batch[results.Count];
                var outcome = new Checks.FileOutcome((string?)o["outcome"], (string?)o["type"], (string?)o["message"]);
                if ((string?)o["path"] != placed.Path) outcome = new Checks.FileOutcome("path mismatch", null, $"expected {placed.Path}, got {o["path"]}");
                results.Add(new FileResult(placed, outcome, null, null, peak));
                peak = 0;
                sinceLast.Restart();
                continue;
            }
            if (lines.IsCompleted)
            {
                process.WaitForExit(10_000);
                var code = process.HasExited ? process.ExitCode.ToString() : "?";
                results.Add(new FileResult(batch[results.Count], null, "crash",
                    $"check-files ended (exit code {code}) while loading this file; stderr: {string.Join(" | ", stderr.TakeLast(8))}", peak));
                log?.Invoke($"crash on {batch[results.Count - 1].Path} (exit {code})");
                return results;
            }
            if (sinceLast.Elapsed > limit)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit(10_000);
                results.Add(new FileResult(batch[results.Count], null, "hang", $"no answer within {limit.TotalSeconds:0} s; the process was killed", peak));
                log?.Invoke($"hang on {batch[results.Count - 1].Path}");
                return results;
            }
        }
        if (!process.WaitForExit(30_000))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            results[^1] = results[^1] with { ProcessProblem = "hang", ProcessDetail = "check-files printed every line but did not exit within 30 s" };
        }
        else if (process.ExitCode != 0)
            results[^1] = results[^1] with { ProcessProblem = "crash", ProcessDetail = $"check-files printed every line, then exited with code {process.ExitCode}; stderr: {string.Join(" | ", stderr.TakeLast(8))}" };
        return results;
    }
}
