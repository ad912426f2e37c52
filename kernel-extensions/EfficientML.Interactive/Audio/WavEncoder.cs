using EfficientML.Core;
using System.Buffers.Binary;

namespace EfficientML.Interactive;

/// <summary>A minimal WAV writer: mono, 16-bit PCM, so audio plays in any browser's &lt;audio&gt; element from a data URI.</summary>
public static class WavEncoder
{
    /// <summary>
    /// A WAV file of <paramref name="samples"/> (−1 … 1; louder values are clipped, NaN becomes silence) at
    /// <paramref name="sampleRate"/> Hz, each rounded to one of 65,535 levels (sample · 32767).
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<float> samples, int sampleRate)
    {
        if (sampleRate <= 0) throw new InvalidSettingsException($"The sample rate must be positive, e.g. 16000 Hz (got {sampleRate}).");
        int dataBytes = checked(samples.Length * 2);
        var wav = new byte[44 + dataBytes];
        var span = wav.AsSpan();
        "RIFF"u8.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], 36 + dataBytes);
        "WAVE"u8.CopyTo(span[8..]);
        "fmt "u8.CopyTo(span[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], 16);               // size of the fmt chunk
        BinaryPrimitives.WriteInt16LittleEndian(span[20..], 1);                // PCM
        BinaryPrimitives.WriteInt16LittleEndian(span[22..], 1);                // mono
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], sampleRate * 2);   // bytes per second
        BinaryPrimitives.WriteInt16LittleEndian(span[32..], 2);                // bytes per sample frame
        BinaryPrimitives.WriteInt16LittleEndian(span[34..], 16);               // bits per sample
        "data"u8.CopyTo(span[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[40..], dataBytes);
        for (int i = 0; i < samples.Length; i++)
        {
            float s = float.IsNaN(samples[i]) ? 0 : Math.Clamp(samples[i], -1f, 1f);
            BinaryPrimitives.WriteInt16LittleEndian(span[(44 + 2 * i)..], (short)Math.Round(s * 32767f));
        }
        return wav;
    }

    /// <summary>The audio as a <c>data:audio/wav;base64,…</c> URI.</summary>
    public static string DataUri(ReadOnlySpan<float> samples, int sampleRate) =>
        "data:audio/wav;base64," + Convert.ToBase64String(Encode(samples, sampleRate));
}
