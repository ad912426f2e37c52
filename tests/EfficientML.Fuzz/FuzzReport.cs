using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EfficientML.Fuzz;

/// <summary>
/// Counts and violations of one fuzzing test: a summary table for the test output, and one section of
/// <c>artifacts/fuzz/&lt;mode&gt;-&lt;seed&gt;.json</c> (each test writes its own section; the file keeps the others').
/// </summary>
public sealed class FuzzReport(string section, string targetHeading)
{
    readonly Dictionary<string, Dictionary<string, int>> _counts = new(StringComparer.Ordinal);
    readonly List<Violation> _violations = new();
    readonly List<JsonObject> _records = new();

    public string Section { get; } = section;
    public IReadOnlyList<Violation> Violations => _violations;

    /// <summary>Counts one input to <paramref name="target"/> (a magic, a file kind) with its outcome ("failed", "loaded" …).</summary>
    public void Count(string target, string outcome)
    {
        if (!_counts.TryGetValue(target, out var row)) _counts[target] = row = new(StringComparer.Ordinal);
        row["inputs"] = row.GetValueOrDefault("inputs") + 1;
        row[outcome] = row.GetValueOrDefault(outcome) + 1;
    }

    public void Add(IEnumerable<Violation> violations) => _violations.AddRange(violations);

    /// <summary>Keeps a record of every input (full detail goes to the JSON file only).</summary>
    public void Record(JsonObject record) => _records.Add(record);

    /// <summary>The summary: inputs and outcomes per target, violations per class (distinct inputs), then per class and target.</summary>
    public string Summary(TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        var outcomes = _counts.Values.SelectMany(r => r.Keys).Where(k => k != "inputs").Distinct().Order(StringComparer.Ordinal).ToList();
        sb.AppendLine($"{Section}: {_counts.Values.Sum(r => r["inputs"])} inputs in {elapsed.TotalSeconds:0} s; {_violations.Count} violations " +
                      $"({_violations.Select(v => v.Input).Distinct().Count()} distinct inputs)");
        var header = new[] { targetHeading, "inputs" }.Concat(outcomes).Append("violations").ToList();
        var rows = _counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p =>
            new[] { p.Key, p.Value["inputs"].ToString() }
                .Concat(outcomes.Select(o => p.Value.GetValueOrDefault(o).ToString()))
                .Append(_violations.Count(v => v.Target == p.Key).ToString()).ToList()).ToList();
        Table(sb, header, rows);
        sb.AppendLine();
        var byClass = _violations.GroupBy(v => v.Class).OrderByDescending(g => g.Count())
            .Select(g => new List<string> { g.Key, g.Count().ToString(), g.Select(v => v.Input).Distinct().Count().ToString(),
                string.Join(", ", g.GroupBy(v => v.Target).OrderByDescending(t => t.Count()).Select(t => $"{t.Key} {t.Count()}")) }).ToList();
        Table(sb, ["violation class", "count", "inputs", "by " + targetHeading], byClass);
        return sb.ToString();
    }

    /// <summary>The first <paramref name="count"/> violations, one class at a time so every class shows.</summary>
    public string First(int count)
    {
        var sb = new StringBuilder();
        var picked = _violations.GroupBy(v => v.Class)
            .SelectMany(g => g.Take(Math.Max(1, count / Math.Max(1, _violations.Select(v => v.Class).Distinct().Count()))))
            .Take(count);
        foreach (var v in picked)
        {
            sb.AppendLine($"[{v.Class}] {v.Target}: {Clip(v.Input, 300)}");
            sb.AppendLine($"    {Clip(v.Detail, 300)}");
            if (v.Message != null) sb.AppendLine($"    message: {Clip(v.Message.Replace("\n", "\n             "), 600)}");
        }
        return sb.ToString();
    }

    static string Clip(string s, int max) => s.Length <= max ? s : s[..max] + $"… ({s.Length:N0} characters)";

    static void Table(StringBuilder sb, IReadOnlyList<string> header, IReadOnlyList<List<string>> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(IReadOnlyList<string> cells) => string.Join("  ", cells.Select((c, i) => i == 0 || i == cells.Count - 1 && header[^1].StartsWith("by ") ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
        sb.AppendLine(Line(header));
        sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in rows) sb.AppendLine(Line(r));
    }

    /// <summary>Writes this section (summary counts, every violation, every input's record) into the mode's JSON file; returns its path.</summary>
    public string Write(FuzzMode mode, TimeSpan elapsed, JsonObject? extra = null)
    {
        var folder = Path.Combine(RepositoryRoot(), "artifacts", "fuzz");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{mode.Name}-{mode.Seed}.json");
        JsonObject root;
        try { root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? new JsonObject() : new JsonObject(); }
        catch (JsonException) { root = new JsonObject(); }
        root["mode"] = mode.Name;
        root["seed"] = mode.Seed;
        var counts = new JsonObject();
        foreach (var (target, row) in _counts.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var o = new JsonObject();
            foreach (var (k, n) in row.OrderBy(p => p.Key, StringComparer.Ordinal)) o[k] = n;
            counts[target] = o;
        }
        var classes = new JsonObject();
        foreach (var g in _violations.GroupBy(v => v.Class).OrderBy(g => g.Key, StringComparer.Ordinal)) classes[g.Key] = g.Count();
        var section = new JsonObject
        {
            ["written"] = DateTime.UtcNow.ToString("O"),
            ["seconds"] = Math.Round(elapsed.TotalSeconds, 1),
            ["counts"] = counts,
            ["violationsByClass"] = classes,
            ["violations"] = new JsonArray(_violations.Select(v => (JsonNode)new JsonObject
            {
                ["class"] = v.Class, ["target"] = v.Target, ["input"] = v.Input, ["detail"] = v.Detail, ["message"] = v.Message,
            }).ToArray()),
            ["inputs"] = new JsonArray(_records.Select(r => (JsonNode)r).ToArray()),
        };
        if (extra != null) foreach (var (k, n) in extra) section[k] = n?.DeepClone();
        root[Section] = section;
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        return path;
    }

    /// <summary>The folder holding Notebooks.sln above the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Notebooks.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
