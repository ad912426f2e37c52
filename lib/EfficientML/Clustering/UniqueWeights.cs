using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// The distinct values of each table's weights and, for every weight, which of them it is. A 16-bit weight has at most
/// 65,536 possible values, so however large the tensor, a table has at most 65,536 distinct values, and the attention
/// softmax(−(w − c)²/τ), which depends on a weight only through its value, has at most that many distinct rows.
/// This is eDKM's uniquification: keep those rows once and an index per weight.
/// </summary>
public sealed class UniqueWeights : IDisposable
{
    /// <summary>Distinct values, table after table, ascending within a table: (R) float32.</summary>
    public Tensor Values { get; }

    /// <summary>Table each distinct value belongs to: (R) int64.</summary>
    public Tensor RowTable { get; }

    /// <summary>How many weights have each distinct value: (R) int64.</summary>
    public Tensor Counts { get; }

    /// <summary>For every weight, the position of its value within its own table's values: (G, n) int64.</summary>
    public Tensor LocalIndex { get; }

    /// <summary>For every distinct value, the flat position (g·n + i) of one weight that has it: (R) int64.</summary>
    public Tensor Representatives { get; }

    /// <summary>Number of distinct values in each table.</summary>
    public IReadOnlyList<long> RowsPerTable { get; }

    /// <summary>First row of each table in <see cref="Values"/>.</summary>
    public IReadOnlyList<long> TableOffsets { get; }

    /// <summary>Total distinct rows R over all tables.</summary>
    public long Rows { get; }

    /// <summary>Tables G and weights per table n.</summary>
    public (long Tables, long PerTable) Shape { get; }

    UniqueWeights(Tensor values, Tensor rowTable, Tensor counts, Tensor localIndex, Tensor representatives, long[] rowsPerTable, long[] offsets, (long, long) shape)
    {
        (Values, RowTable, Counts, LocalIndex, Representatives) = (values, rowTable, counts, localIndex, representatives);
        (RowsPerTable, TableOffsets, Rows, Shape) = (rowsPerTable, offsets, rowsPerTable.Sum(), shape);
    }

    /// <summary>Distinct values of each row of <paramref name="weights"/> (G, n), one row per table.</summary>
    public static UniqueWeights Of(Tensor weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.dim() != 2)
            throw new InvalidSettingsException($"UniqueWeights.Of takes the weights as (tables, weights per table); got shape [{string.Join(", ", weights.shape)}]. Reshape to (1, -1) for one table.");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        long g = weights.shape[0], n = weights.shape[1];
        var w = weights.detach().to(ScalarType.Float32);
        var (sorted, order) = w.sort(dim: 1);                                               // (G, n) each
        // A value starts a new row where it differs from its left neighbour (−0 and +0 count as one, like torch.unique).
        var first = cat(new[] { ones(g, 1, dtype: ScalarType.Bool, device: w.device), sorted.narrow(1, 1, n - 1).ne(sorted.narrow(1, 0, n - 1)) }, 1); // (G, n)
        var rank = first.to(ScalarType.Int64).cumsum(1) - 1;                               // (G, n) local row, in sorted order
        var local = empty_like(rank).scatter_(1, order, rank);                             // (G, n) local row, in weight order
        var perTable = first.sum(1, type: ScalarType.Int64);                               // (G)
        var values = sorted.masked_select(first);                                          // (R)
        var flatOrder = order + arange(g, device: w.device).unsqueeze(1) * n;              // (G, n) flat position of each sorted weight
        var representatives = flatOrder.masked_select(first);                              // (R)
        var rowTable = arange(g, device: w.device).repeat_interleave(perTable);            // (R)
        long[] rows = perTable.cpu().data<long>().ToArray();
        var starts = new long[g];                                                          // first row of each table
        for (int t = 1; t < g; t++) starts[t] = starts[t - 1] + rows[t - 1];
        var global = (local + tensor(starts, device: w.device).unsqueeze(1)).flatten();   // (G·n) row in all tables
        var counts = global.bincount(null, rows.Sum()).to(ScalarType.Int64);             // (R)
        return new UniqueWeights(values.MoveToOuterDisposeScope(), rowTable.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope(),
            local.MoveToOuterDisposeScope(), representatives.MoveToOuterDisposeScope(), rows, starts, (g, n));
    }

    /// <summary>Rows of <paramref name="table"/> (R, …) for every weight: (G, n, …).</summary>
    public Tensor Expand(Tensor table)
    {
        using var scope = NewDisposeScope();
        var offsets = tensor(TableOffsets.ToArray(), device: table.device);                  // (G)
        var global = (LocalIndex.to(table.device) + offsets.unsqueeze(1)).flatten();          // (G·n)
        var rows = table.index_select(0, global);                                            // (G·n, …)
        return rows.view(new[] { Shape.Tables, Shape.PerTable }.Concat(table.shape.Skip(1)).ToArray()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The index in the smallest integer type that holds the largest table's rows: uint8 (≤ 256 rows), int16 with an
    /// offset of −32768 (≤ 65,536 rows; TorchSharp has no uint16), else int32. Shape (G·n).
    /// </summary>
    internal Tensor CompactIndex()
    {
        long largest = RowsPerTable.Max();
        var flat = LocalIndex.flatten();
        if (largest <= 256) return flat.to(ScalarType.Byte);
        if (largest <= 65536) return (flat - 32768).to(ScalarType.Int16);
        return flat.to(ScalarType.Int32);
    }

    /// <summary>Undoes <see cref="CompactIndex"/>: int64 local index (G·n).</summary>
    internal static Tensor Widen(Tensor compact) =>
        compact.dtype == ScalarType.Int16 ? compact.to(ScalarType.Int64) + 32768 : compact.to(ScalarType.Int64);

    /// <inheritdoc />
    public void Dispose()
    {
        Values.Dispose(); RowTable.Dispose(); Counts.Dispose(); LocalIndex.Dispose(); Representatives.Dispose();
    }
}
