using EfficientML.Core;
using System.Buffers.Binary;
using System.Text;

namespace EfficientML.Audio;

/// <summary>
/// WAV files without dependencies. Reads 8-bit (unsigned), 16-, 24- and 32-bit PCM and 32- and 64-bit float, plain or
/// WAVE_FORMAT_EXTENSIBLE, any number of channels (averaged to mono); writes mono 16-bit PCM. Integer samples map to floats
/// by dividing by 2^(bits−1) (16-bit: 32768), and writing multiplies by 32768 and rounds, so 16-bit audio round-trips exactly.
/// </summary>
public static class WaveFile
{
    const int HeaderBytes = 44;
    const ushort FormatPcm = 1, FormatFloat = 3, FormatExtensible = 0xFFFE;

    /// <summary>The clip in the WAV file at <paramref name="path"/>, mixed down to mono at the file's own sample rate.</summary>
    /// <exception cref="MissingFileException">No file is there.</exception>
    /// <exception cref="InvalidFileException">The file is not a WAV file this reader understands; the message says why.</exception>
    public static AudioClip Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        InputFiles.Length(path, "WAV file", minimumBytes: 12, missing: p => new MissingFileException($"No WAV file at '{p}'.", p),
            tooShort: (p, n) => new InvalidFileException($"'{p}' is not a WAV file this reader understands: it has {n} bytes{(n == 0 ? " (or is not a regular file)" : "")}, fewer than a RIFF/WAVE header."));
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidFileException($"Could not read the WAV file '{path}': {(e is UnauthorizedAccessException ? "permission denied" : "the system could not read it")}. Check the path and that the file is readable.", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>The clip in an in-memory WAV file (e.g. from <see cref="ToBytes"/>); <paramref name="name"/> appears in error messages.</summary>
    /// <exception cref="InvalidFileException">The bytes are not a WAV file this reader understands; the message says why.</exception>
    public static AudioClip FromBytes(byte[] bytes, string name = "WAV data")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Parse(bytes, name);
    }

    /// <summary>Writes <paramref name="clip"/> to <paramref name="path"/> as mono 16-bit PCM (creating the folder if needed).</summary>
    public static void Write(string path, AudioClip clip)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var bytes = ToBytes(clip);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// A complete mono 16-bit PCM WAV file in memory (44-byte header, then the samples), e.g. to base64 into an HTML audio player.
    /// Samples beyond ±1 are clipped; a NaN or infinite sample is an error.
    /// </summary>
    public static byte[] ToBytes(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        var samples = clip.Samples;
        long dataBytes = 2L * samples.Length;
        if (dataBytes > uint.MaxValue - HeaderBytes) throw new InvalidSettingsException($"{samples.Length} samples are too many for one WAV file.");
        var bytes = new byte[HeaderBytes + dataBytes];
        var span = bytes.AsSpan();
        Encoding.ASCII.GetBytes("RIFF", span[0..4]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(HeaderBytes - 8 + dataBytes));
        Encoding.ASCII.GetBytes("WAVEfmt ", span[8..16]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], 16);                        // fmt chunk size
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], FormatPcm);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], 1);                         // channels
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)clip.SampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)clip.SampleRate * 2); // bytes per second
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], 2);                         // bytes per frame
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], 16);                        // bits per sample
        Encoding.ASCII.GetBytes("data", span[36..40]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[40..], (uint)dataBytes);
        for (int i = 0; i < samples.Length; i++)
        {
            float x = samples[i];
            if (!float.IsFinite(x)) throw new InvalidSettingsException($"Sample {i} is {x}; only finite samples can be written.");
            var value = (short)Math.Clamp(MathF.Round(x * 32768f), short.MinValue, short.MaxValue);
            BinaryPrimitives.WriteInt16LittleEndian(span[(HeaderBytes + 2 * i)..], value);
        }
        return bytes;
    }

    /// <summary>Largest magnitude a float sample may have (float WAV is nominally within ±1; louder files exist, this is not one).</summary>
    const double MaxFloatSample = 1000;

    static AudioClip Parse(ReadOnlySpan<byte> bytes, string name)
    {
        InvalidFileException Bad(string what) => new($"'{name}' is not a WAV file this reader understands: {what}.");

        if (bytes.Length < 12 || !bytes[0..4].SequenceEqual("RIFF"u8) || !bytes[8..12].SequenceEqual("WAVE"u8))
            throw Bad("it does not start with a RIFF/WAVE header");
        // The RIFF size is the file's length less 8 (a streaming writer leaves 0 or 0xFFFFFFFF, in the data size too).
        long riff = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        bool riffOpen = riff is 0 or uint.MaxValue, dataOpen = false;
        if (!riffOpen && riff + 8 != bytes.Length)
            throw Bad(riff + 8 > bytes.Length
                ? $"its RIFF header says {riff + 8:N0} bytes but the file has {bytes.Length:N0}: the file is truncated (copy or record it again)"
                : $"its RIFF header says {riff + 8:N0} bytes but the file has {bytes.Length:N0}: the header is damaged");
        ushort format = 0, channels = 0, bits = 0, blockAlign = 0;
        uint rate = 0, byteRate = 0;
        bool haveFormat = false;
        ReadOnlySpan<byte> data = default;
        bool haveData = false;
        int at = 12;
        while (at + 8 <= bytes.Length)
        {
            var id = bytes.Slice(at, 4);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(at + 4)..]);
            int body = at + 8;
            long available = bytes.Length - body;
            foreach (var c in id)
                if (c is < 0x20 or > 0x7E)
                    throw Bad($"the bytes at offset {at:N0} do not start a chunk (a chunk size earlier in the file is wrong)");
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16 || available < 16) throw Bad($"its 'fmt ' chunk is {Math.Min(size, available)} bytes, shorter than 16");
                var fmt = bytes.Slice(body, (int)Math.Min(size, available));
                format = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
                rate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
                byteRate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[8..]);
                blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(fmt[12..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
                if (format == FormatExtensible)
                {
                    if (fmt.Length < 40) throw Bad("its WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is too short to name the sub-format");
                    format = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]);            // first two bytes of the sub-format GUID
                }
                haveFormat = true;
            }
            else if (id.SequenceEqual("data"u8))
            {
                // Streaming writers leave the size at 0 or 0xFFFFFFFF ("to the end"); any other size must be there in full.
                bool open = size == 0 || size == uint.MaxValue;
                if (!open && size > available)
                    throw Bad($"its 'data' chunk says {size:N0} bytes but only {available:N0} follow: the file is truncated (copy or record it again)");
                data = bytes.Slice(body, (int)(open ? available : size));
                haveData = true;
                if (open) { dataOpen = true; at = bytes.Length; break; }
            }
            else if (size > available)
                throw Bad($"its '{Encoding.ASCII.GetString(id)}' chunk says {size:N0} bytes but only {available:N0} follow: the file is truncated");
            at = (int)Math.Min(bytes.Length, body + size + (size & 1));                      // chunks are padded to even sizes
        }
        if (bytes.Length - at > 1)
            throw Bad($"its last {bytes.Length - at:N0} bytes belong to no chunk (a 'data' size that is too small?)");
        if (!haveFormat) throw Bad("it has no 'fmt ' chunk");
        if (riffOpen && haveData && !dataOpen)
            throw Bad($"its RIFF header leaves the size open ({riff}) but its 'data' chunk gives one: a writer that knew the data's size would have written the file's too, so the header is damaged");
        if (!haveData) throw Bad("it has no 'data' chunk");
        if (channels == 0) throw Bad("its header says it has 0 channels");
        if (rate == 0 || rate > int.MaxValue) throw Bad($"its header says the sample rate is {rate} Hz");
        bool pcm = format == FormatPcm && bits is 8 or 16 or 24 or 32;
        bool floating = format == FormatFloat && bits is 32 or 64;
        if (!pcm && !floating)
        {
            string kind = format switch { FormatPcm => "PCM", FormatFloat => "float", _ => $"format {format} (not PCM or float)" };
            throw Bad($"its samples are {bits}-bit {kind}; it reads 8-, 16-, 24- and 32-bit PCM and 32- and 64-bit float");
        }

        int width = bits / 8, frame = width * channels;
        if (blockAlign != frame)
            throw Bad($"its header says {blockAlign} bytes per frame, but {channels:N0} channel{(channels == 1 ? "" : "s")} × {bits} bits make {frame}");
        if (byteRate != (long)rate * frame)
            throw Bad($"its header says {byteRate:N0} bytes per second, but {rate:N0} Hz × {frame} bytes per frame make {(long)rate * frame:N0}: the sample rate or the byte rate is damaged");
        int frames = data.Length / frame;
        if (frames == 0)
            throw Bad($"its 'data' chunk ({data.Length:N0} bytes) holds no whole frame of {channels:N0} channel{(channels == 1 ? "" : "s")} × {bits} bits");
        var samples = new float[frames];
        for (int f = 0; f < frames; f++)
        {
            var fs = data.Slice(f * frame, frame);
            double sum = 0;
            for (int c = 0; c < channels; c++)
            {
                var s = fs.Slice(c * width, width);
                sum += (floating, bits) switch
                {
                    (true, 32) => BinaryPrimitives.ReadSingleLittleEndian(s),
                    (true, _) => BinaryPrimitives.ReadDoubleLittleEndian(s),
                    (false, 8) => (s[0] - 128) / 128.0,
                    (false, 16) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768.0,
                    (false, 24) => ((s[0] | (s[1] << 8) | (s[2] << 16)) << 8 >> 8) / 8388608.0,   // sign-extend 24 bits
                    _ => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0,
                };
            }
            samples[f] = (float)(sum / channels);
            // Float data is nominally within ±1; NaN, ∞ or absurd values mean the bytes are not floats (a mislabelled header).
            if (floating && !(Math.Abs(samples[f]) <= MaxFloatSample))
                throw Bad($"sample {f:N0} reads as {samples[f]}, which is not audio: the header calls the samples {bits}-bit float, and they are probably not");
        }
        return new AudioClip(samples, (int)rate);
    }
}
