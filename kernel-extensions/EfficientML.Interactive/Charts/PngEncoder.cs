using EfficientML.Core;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace EfficientML.Interactive;

/// <summary>
/// A minimal PNG writer: 8-bit RGB, no interlace, every scanline unfiltered, one zlib-compressed IDAT chunk. Enough for
/// the small raster images the charts embed as data URIs (spectrograms), with no image library.
/// </summary>
public static class PngEncoder
{
    static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>
    /// A PNG file of <paramref name="width"/> × <paramref name="height"/> pixels from <paramref name="rgb"/>: three bytes
    /// (red, green, blue) per pixel, row by row from the top.
    /// </summary>
    public static byte[] Encode(int width, int height, ReadOnlySpan<byte> rgb)
    {
        if (width < 1 || height < 1) throw new InvalidSettingsException($"An image needs at least one pixel each way, not {width} × {height}.");
        if ((long)width * height * 3 != rgb.Length)
            throw new InvalidSettingsException($"{width} × {height} RGB pixels take {(long)width * height * 3} bytes; got {rgb.Length}.");
        using var png = new MemoryStream();
        png.Write(Signature);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;      // bits per channel
        header[9] = 2;      // colour type: RGB
        // compression 0 (deflate), filter method 0, no interlace: the remaining three bytes stay zero
        Chunk(png, "IHDR", header);

        using var pixels = new MemoryStream();
        using (var zlib = new ZLibStream(pixels, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * 3;
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0);      // filter type 0: the row as it is
                zlib.Write(rgb.Slice(y * stride, stride));
            }
        }
        Chunk(png, "IDAT", pixels.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>The image as a <c>data:image/png;base64,…</c> URI.</summary>
    public static string DataUri(int width, int height, ReadOnlySpan<byte> rgb) =>
        "data:image/png;base64," + Convert.ToBase64String(Encode(width, height, rgb));

    /// <summary>CRC-32 (ISO-HDLC, as PNG uses) of <paramref name="bytes"/>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (var b in bytes) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    /// <summary>Length, type, data, and the CRC of type and data.</summary>
    static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        png.Write(four);
        var typeAndData = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData, 4);
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc32(typeAndData));
        png.Write(four);
    }

    static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
