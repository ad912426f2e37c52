using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace EfficientML.Fuzz;

/// <summary>
/// Every file loader (check-files: tinygpt, gpt2, palettized, onnx-lm, onnx-kws, wav) against corrupted files, in child
/// processes: no crash, no hang, no non-library exception, no .NET wording in a message, and no detectable lie loaded.
/// </summary>
public class FileFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Corrupted_files_are_refused_cleanly_by_every_loader()
    {
        var mode = FuzzMode.Current;
        var clock = Stopwatch.StartNew();
        Assert.True(File.Exists(CheckFilesRunner.CliDll), $"check-files is not next to the tests: {CheckFilesRunner.CliDll}");
        var folder = Path.Combine(Path.GetTempPath(), $"efficientml-fuzz-files-{mode.Seed}-{Environment.ProcessId}");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        var bases = FileCorpus.Create(Path.Combine(folder, "base"));
        var files = FileCorruptor.Fixed(bases).ToList();
        var corruptor = new FileCorruptor(bases, mode.Seed);
        while (files.Count < mode.Files) files.Add(corruptor.Next());
        if (Directory.Exists(KeptFolder(mode))) Directory.Delete(KeptFolder(mode), recursive: true);
        var placed = files.Select((f, i) => CheckFilesRunner.Place(folder, f, i)).ToList();
        long budget = (long)(ProcessStats.MemAvailableBytes() * 0.8);

        var report = new FuzzReport("files", "kind");
        foreach (var group in placed.GroupBy(p => p.File.Kind))
        {
            foreach (var r in CheckFilesRunner.Run(group.Key, group.ToList(), output.WriteLine))
            {
                var p = r.Placed;
                var violations = new List<Violation>();
                if (r.ProcessProblem != null) violations.Add(new Violation(r.ProcessProblem, p.File.Kind, p.Input, r.ProcessDetail ?? ""));
                if (r.Outcome != null) violations.AddRange(Checks.File(p.File.Kind, p.Input, p.File.Label, r.Outcome));
                if (r.PeakRssBytes > budget)
                    violations.Add(new Violation("memory", p.File.Kind, p.Input, $"check-files peaked at {r.PeakRssBytes / 1e6:N0} MB on this file, budget {budget / 1e6:N0} MB"));
                report.Count(p.File.Kind, r.Outcome?.Outcome is { } o ? $"{o} ({Short(p.File.Label)})" : r.ProcessProblem ?? "?");
                report.Add(violations);
                report.Record(new JsonObject
                {
                    ["index"] = p.Index, ["kind"] = p.File.Kind, ["base"] = p.File.Base, ["corruption"] = p.File.Description,
                    ["label"] = p.File.Label.ToString().ToLowerInvariant(), ["path"] = p.Path,
                    ["outcome"] = r.Outcome?.Outcome ?? r.ProcessProblem, ["type"] = r.Outcome?.Type, ["message"] = r.Outcome?.Message ?? r.ProcessDetail,
                    ["violations"] = new JsonArray(violations.Select(v => (JsonNode)v.Class).ToArray()),
                });
                if (violations.Count > 0) Keep(mode, folder, p);
            }
        }
        var summary = report.Summary(clock.Elapsed);
        output.WriteLine(summary);
        var path = report.Write(mode, clock.Elapsed, new JsonObject { ["memoryBudgetBytes"] = budget, ["files"] = placed.Count });
        output.WriteLine($"report: {path}; files with violations copied to {KeptFolder(mode)}");
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        Assert.True(report.Violations.Count == 0,
            $"{report.Violations.Count} violations in {placed.Count} files (seed {mode.Seed}; {path}):\n{summary}\n{report.First(25)}");
    }

    static string Short(FileLabel label) => label switch { FileLabel.Valid => "valid", FileLabel.Detectable => "lie", _ => "undetectable" };

    static string KeptFolder(FuzzMode mode) => Path.Combine(FuzzReport.RepositoryRoot(), "artifacts", "fuzz", $"{mode.Name}-{mode.Seed}-files");

    /// <summary>Copies a file that broke something into artifacts/fuzz (with its config.json), so it can be loaded again without the fuzzer.</summary>
    static void Keep(FuzzMode mode, string folder, PlacedFile p)
    {
        if (p.File.SpecialPath != null) return;
        var target = Path.Combine(KeptFolder(mode), Path.GetRelativePath(folder, p.Path));
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(p.Path, target, overwrite: true);
        var config = Path.Combine(Path.GetDirectoryName(p.Path)!, "config.json");
        if (p.File.ConfigJson != null && p.File.ConfigSpecial == null && File.Exists(config))
            File.Copy(config, Path.Combine(Path.GetDirectoryName(target)!, "config.json"), overwrite: true);
    }
}
