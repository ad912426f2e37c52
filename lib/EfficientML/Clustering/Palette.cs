using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// A palettised weight: a lookup table of k values per table and, for every weight, the index of its value.
/// Table g serves rows g·GroupSize … (g+1)·GroupSize − 1 (all rows when <see cref="GroupSize"/> is null).
/// </summary>
/// <param name="Table">(G, k) float32 centroids.</param>
/// <param name="Indices">The weight's shape, uint8: index into its table's row.</param>
/// <param name="Bits">Bits per index (k = 2^Bits).</param>
/// <param name="GroupSize">Output channels per table; null = one table for the whole tensor.</param>
public sealed record Palette(Tensor Table, Tensor Indices, int Bits, int? GroupSize) : IDisposable
{
    /// <summary>Number of weights.</summary>
    public long Count => Indices.numel();

    /// <summary>Bytes with indices packed at <see cref="Bits"/> bits and float32 tables.</summary>
    public long PackedBytes => Table.numel() * 4 + (Count * Bits + 7) / 8;

    /// <summary>Storage cost per weight, tables included.</summary>
    public double BitsPerWeight => PackedBytes * 8.0 / Count;

    /// <summary>The weights the palette stands for: every index replaced by its table value (float32, the weight's shape).</summary>
    public Tensor Decode()
    {
        using var scope = NewDisposeScope();
        long g = Table.shape[0];
        var index = Indices.to(ScalarType.Int64).reshape(g, -1);                             // (G, n)
        return Table.gather(1, index).view(Indices.shape).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Table.Dispose();
        Indices.Dispose();
    }
}
