using System.Globalization;
using System.Text.Json;

namespace EfficientML.Benchmarks;

/// <summary>Prints measurements as a table and writes the same figures as JSON.</summary>
public static class Report
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }; // a ratio can be ∞, a step count NaN (never reached)

    /// <summary>A fixed-width table: name, value, unit, ratio against the baseline.</summary>
    public static void PrintTable(string suite, IReadOnlyList<Measurement> rows, TextWriter output)
    {
        int nameWidth = Math.Max(12, rows.Max(r => r.Name.Length));
        output.WriteLine();
        output.WriteLine($"== {suite} ==");
        output.WriteLine($"{"measurement".PadRight(nameWidth)}  {"value",14}  {"unit",-14}  {"ratio",9}  baseline / note");
        output.WriteLine(new string('-', nameWidth + 60));
        foreach (var r in rows)
        {
            var ratio = r.Ratio is double x ? (double.IsPositiveInfinity(x) ? "∞" : x.ToString("0.00", CultureInfo.InvariantCulture) + "x") : "";
            var tail = string.Join("; ", new[] { r.Baseline is null ? null : "vs " + r.Baseline, r.Note }.Where(s => s != null));
            output.WriteLine($"{r.Name.PadRight(nameWidth)}  {Format(r.Value),14}  {r.Unit,-14}  {ratio,9}  {tail}");
        }
    }

    /// <summary>Writes <c>artifacts/benchmarks/&lt;suite&gt;.json</c> under <paramref name="root"/> and returns its path.</summary>
    public static string WriteJson(string root, string suite, bool quick, IReadOnlyList<Measurement> rows)
    {
        var folder = Path.Combine(root, "artifacts", "benchmarks");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, suite + ".json");
        var document = new
        {
            suite,
            quick,
            measuredAt = DateTimeOffset.UtcNow,
            machine = new { Environment.ProcessorCount, os = Environment.OSVersion.ToString(), dotnet = Environment.Version.ToString() },
            measurements = rows,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, Json));
        return path;
    }

    static string Format(double v) =>
        Math.Abs(v) >= 1e5 || (v != 0 && Math.Abs(v) < 1e-3) ? v.ToString("0.000e+0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 100 ? v.ToString("0", CultureInfo.InvariantCulture)
        : v.ToString("0.000", CultureInfo.InvariantCulture);
}
