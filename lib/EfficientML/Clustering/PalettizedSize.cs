namespace EfficientML.Clustering;

/// <summary>
/// Storage cost of a <see cref="PalettizedModel"/>'s tensors (payload only; a file adds its header and metadata).
/// </summary>
/// <param name="PalettizedWeights">Weights stored as palette indices.</param>
/// <param name="PlainValues">Values stored as plain float32.</param>
/// <param name="TableBytes">Bytes of every palette table (float32).</param>
/// <param name="IndexBytes">Bytes of every palette's indices, bit-packed.</param>
/// <param name="PlainBytes">Bytes of the plain tensors.</param>
public sealed record PalettizedSize(long PalettizedWeights, long PlainValues, long TableBytes, long IndexBytes, long PlainBytes)
{
    /// <summary>Every value the model has (palettised and plain).</summary>
    public long TotalValues => PalettizedWeights + PlainValues;

    /// <summary>Payload bytes: tables, packed indices and plain tensors.</summary>
    public long TotalBytes => TableBytes + IndexBytes + PlainBytes;

    /// <summary>The same model with every value in float32.</summary>
    public long Float32Bytes => TotalValues * 4;

    /// <summary>Bits per palettised weight, tables included (32 for float32).</summary>
    public double BitsPerPalettizedWeight => PalettizedWeights == 0 ? 32 : (TableBytes + IndexBytes) * 8.0 / PalettizedWeights;

    /// <summary>Bits per value over the whole model, plain tensors included.</summary>
    public double BitsPerWeight => TotalBytes * 8.0 / TotalValues;

    /// <summary>How many times smaller than float32.</summary>
    public double CompressionRatio => (double)Float32Bytes / TotalBytes;

    /// <inheritdoc />
    public override string ToString() =>
        $"{TotalBytes:N0} bytes vs {Float32Bytes:N0} in float32 ({CompressionRatio:0.00}x smaller): " +
        $"{BitsPerPalettizedWeight:0.00} bits per palettised weight ({PalettizedWeights:N0} weights), {BitsPerWeight:0.00} bits per value overall";
}
