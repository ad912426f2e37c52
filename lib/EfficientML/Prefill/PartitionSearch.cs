using System.Text.Json;
using EfficientML.Core;

namespace EfficientML.Prefill;

/// <summary>One partition tried by the search: predicted, and measured when it was run.</summary>
public sealed record PartitionCandidate(int[] Chunks, double Predicted, double? Measured, int Level);

/// <summary>What a partition search found for one (workers, length).</summary>
public sealed record PartitionSearchResult(int Workers, int Length, IReadOnlyList<PartitionCandidate> Tried, PartitionCandidate Best, PartitionCandidate Even, PartitionCostModel Model);

/// <summary>
/// Context-level load balancing: the cost model proposes the partition it predicts fastest; then a measured hierarchical grid
/// moves each boundary between chunks by a step that halves at every level (first a coarse grid around the proposal, then
/// finer ones around the best so far), keeping whatever measured fastest. Even chunks are measured too, as the reference.
/// </summary>
public static class PartitionSearch
{
    /// <summary>
    /// Searches the partition of <paramref name="length"/> tokens over <paramref name="workers"/> that minimises time to first
    /// token as <paramref name="measure"/> reports it (e.g. the median of a few in-process or MPI prefills), with
    /// <paramref name="levels"/> levels of refinement.
    /// </summary>
    public static PartitionSearchResult Search(PartitionCostModel model, int length, int workers, Func<int[], double> measure, int levels = 3)
    {
        if (workers < 1 || workers > length) throw new InvalidSettingsException($"Cannot split {length} tokens over {workers} workers.");
        if (levels < 1 || levels > 12) throw new InvalidSettingsException($"Use 1 to 12 levels (got {levels}).");
        var tried = new Dictionary<string, PartitionCandidate>();
        PartitionCandidate Try(int[] chunks, int level)
        {
            var key = string.Join(',', chunks);
            if (!tried.TryGetValue(key, out var c)) tried[key] = c = new PartitionCandidate(chunks, model.Predict(chunks), measure(chunks), level);
            return c;
        }
        var even = Try(Partitions.Even(length, workers), 0);
        var best = Try(model.Optimise(length, workers), 0);
        if (even.Measured < best.Measured) best = even;
        int step = Math.Max(1, length / (4 * workers));
        for (int level = 1; level <= levels && workers > 1; level++, step = Math.Max(1, step / 2))
        {
            for (int b = 0; b + 1 < workers; b++)
                foreach (var move in new[] { -2 * step, -step, step, 2 * step })
                {
                    var chunks = (int[])best.Chunks.Clone();
                    chunks[b] += move;
                    chunks[b + 1] -= move;
                    if (chunks[b] < 1 || chunks[b + 1] < 1) continue;
                    var c = Try(chunks, level);
                    if (c.Measured < best.Measured) best = c;
                }
            if (step == 1) break;
        }
        return new PartitionSearchResult(workers, length, tried.Values.ToList(), best, even, model);
    }
}

/// <summary>One row of a <see cref="PartitionTable"/>: the best partition found for (workers, length), as shares of the prompt.</summary>
public sealed record PartitionEntry(int Workers, int Length, double[] Shares, double Seconds);

/// <summary>
/// Best partitions per (workers, prompt length), saved and reused: a length between two entries gets the shares interpolated
/// linearly between them; below or above every entry, the nearest one's.
/// </summary>
public sealed class PartitionTable
{
    readonly List<PartitionEntry> _entries = [];

    /// <summary>The entries, by workers then length.</summary>
    public IReadOnlyList<PartitionEntry> Entries => _entries.OrderBy(e => e.Workers).ThenBy(e => e.Length).ToList();

    /// <summary>Adds (or replaces) the entry for a search's (workers, length).</summary>
    public void Add(PartitionSearchResult result) =>
        Add(new PartitionEntry(result.Workers, result.Length, result.Best.Chunks.Select(c => c / (double)result.Length).ToArray(), result.Best.Measured ?? result.Best.Predicted));

    /// <summary>Adds (or replaces) an entry.</summary>
    public void Add(PartitionEntry entry)
    {
        if (entry.Shares.Length != entry.Workers || entry.Shares.Any(s => !(s > 0)))
            throw new InvalidSettingsException($"An entry for {entry.Workers} workers needs {entry.Workers} positive shares.");
        _entries.RemoveAll(e => e.Workers == entry.Workers && e.Length == entry.Length);
        _entries.Add(entry);
    }

    /// <summary>The chunks for <paramref name="length"/> tokens over <paramref name="workers"/>: looked up, interpolated, or null when the table has no entry for that many workers.</summary>
    public int[]? Lookup(int workers, int length)
    {
        var rows = _entries.Where(e => e.Workers == workers).OrderBy(e => e.Length).ToList();
        if (rows.Count == 0) return null;
        var below = rows.LastOrDefault(e => e.Length <= length) ?? rows[0];
        var above = rows.FirstOrDefault(e => e.Length >= length) ?? rows[^1];
        double w = above.Length == below.Length ? 0 : (length - below.Length) / (double)(above.Length - below.Length);
        var shares = below.Shares.Zip(above.Shares, (a, b) => a + w * (b - a)).ToArray();
        return Partitions.FromShares(shares, length);
    }

    /// <summary>Writes the table as JSON.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(Entries, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads a table <see cref="Save"/> wrote; one clear message for a file that is not one.</summary>
    public static PartitionTable Load(string path)
    {
        if (!File.Exists(path)) throw new MissingFileException($"No partition table at '{path}': run a partition search and save it there first.");
        List<PartitionEntry>? entries;
        try { entries = JsonSerializer.Deserialize<List<PartitionEntry>>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidSettingsException($"'{path}' is not a partition table: {e.Message}"); }
        var table = new PartitionTable();
        foreach (var e in entries ?? []) table.Add(e);
        return table;
    }
}
