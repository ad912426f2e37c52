using EfficientML.Core;
namespace EfficientML.Clustering;

/// <summary>
/// Packs palette indices at <c>bits</c> bits each into bytes, and back. Bit order is little-endian throughout:
/// index i occupies bits i·bits … i·bits + bits − 1 of the stream, and bit j of the stream is bit j mod 8
/// (0 = least significant) of byte j / 8. So at 3 bits, byte 0 holds index 0 in bits 0–2, index 1 in bits 3–5 and the
/// low two bits of index 2 in bits 6–7. The last byte is padded with zero bits. At 8 bits the packed form is the indices.
/// </summary>
public static class IndexPacking
{
    /// <summary>Bytes needed for <paramref name="count"/> indices at <paramref name="bits"/> bits each.</summary>
    public static long PackedLength(long count, int bits)
    {
        CheckBits(bits);
        return (count * bits + 7) / 8;
    }

    /// <summary>Packs <paramref name="indices"/> (each below 2^<paramref name="bits"/>) at <paramref name="bits"/> bits each.</summary>
    public static byte[] Pack(ReadOnlySpan<byte> indices, int bits)
    {
        var packed = new byte[PackedLength(indices.Length, bits)];
        int limit = 1 << bits;
        ulong buffer = 0;
        int held = 0, next = 0;
        for (int i = 0; i < indices.Length; i++)
        {
            if (indices[i] >= limit)
                throw new InvalidSettingsException($"Index {indices[i]} at position {i} does not fit in {bits} bits (it must be below {limit}).");
            buffer |= (ulong)indices[i] << held;
            held += bits;
            while (held >= 8)
            {
                packed[next++] = (byte)buffer;
                buffer >>= 8;
                held -= 8;
            }
        }
        if (held > 0) packed[next] = (byte)buffer;
        return packed;
    }

    /// <summary>
    /// The first <paramref name="count"/> indices of <paramref name="packed"/>, one byte each. The caller checks that
    /// <paramref name="packed"/> holds at least <see cref="PackedLength"/> bytes.
    /// </summary>
    public static byte[] Unpack(ReadOnlySpan<byte> packed, long count, int bits)
    {
        long needed = PackedLength(count, bits);
        if (packed.Length < needed)
            throw new InvalidSettingsException($"{count} indices at {bits} bits need {needed} bytes; got {packed.Length}.");
        var indices = new byte[count];
        uint mask = (1u << bits) - 1;
        ulong buffer = 0;
        int held = 0, next = 0;
        for (long i = 0; i < count; i++)
        {
            if (held < bits)
            {
                buffer |= (ulong)packed[next++] << held;
                held += 8;
            }
            indices[i] = (byte)(buffer & mask);
            buffer >>= bits;
            held -= bits;
        }
        return indices;
    }

    static void CheckBits(int bits)
    {
        if (bits is < 1 or > 8) throw new InvalidSettingsException($"Bits per index must be 1–8; got {bits}.");
    }
}
