using System.Buffers.Binary;
using System.Text;
using EfficientML.Audio;
using EfficientML.Clustering;
using EfficientML.Export;
using EfficientML.Models;
using EfficientML.Reparam;

namespace EfficientML.Fuzz;

/// <summary>One valid file the corruptions start from: the loader kind that reads it, a name, and its bytes.</summary>
public sealed record BaseFile(string Kind, string Name, byte[] Bytes)
{
    /// <summary>For WAV files: where the samples start and how they are stored (written by hand, so known exactly).</summary>
    public WavLayout? Wav { get; init; }
    /// <summary>For TinyGpt, palettised and ONNX language models: the configuration written into the file.</summary>
    public TinyGptConfig? Config { get; init; }
}

/// <summary>A WAV file's layout: offsets of its header fields and of the samples.</summary>
public sealed record WavLayout(int Format, int Channels, int Bits, int FmtBody, int DataHeader, int DataStart, int DataLength, bool Extensible);

/// <summary>
/// The valid files of every kind check-files reads: TinyGpt checkpoints (tied; untied with grouped-query attention),
/// GPT-2 checkpoints, palettised models, ONNX exports of a TinyGpt (plain and palettised) and of a folded RepCnn, and WAV
/// files (the library's own 16-bit mono, and by hand: 8/24/32-bit PCM, 32/64-bit float, stereo, WAVE_FORMAT_EXTENSIBLE).
/// Small, so thousands of corrupted copies cost little.
/// </summary>
public static class FileCorpus
{
    public static readonly string[] Kinds = ["tinygpt", "gpt2", "palettized", "onnx-lm", "onnx-kws", "wav"];

    public static IReadOnlyList<BaseFile> Create(string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<BaseFile>();
        byte[] Save(string name, Action<string> write)
        {
            var path = Path.Combine(folder, name);
            write(path);
            return File.ReadAllBytes(path);
        }

        var tiedConfig = new TinyGptConfig { Layers = 1, Dim = 16, Heads = 2, KvHeads = 2, MlpDim = 32, ContextLength = 16 };
        var gqaConfig = new TinyGptConfig { Layers = 2, Dim = 16, Heads = 4, KvHeads = 2, MlpDim = 24, ContextLength = 8, TiedHead = false, Activation = TinyGptConfig.GeluTanh };
        using var tied = new TinyGpt(tiedConfig, seed: 3);
        using var gqa = new TinyGpt(gqaConfig, seed: 4);
        files.Add(new("tinygpt", "tied", Save("tied.safetensors", p => tied.Save(p))) { Config = tiedConfig });
        files.Add(new("tinygpt", "gqa-untied", Save("gqa.safetensors", p => gqa.Save(p, metadata: new Dictionary<string, string> { ["steps"] = "0" }))) { Config = gqaConfig });
        files.Add(new("gpt2", "gpt2-tied", Save("gpt2-tied.safetensors", p => Gpt2Checkpoint.Save(tied, p))) { Config = tiedConfig });
        files.Add(new("gpt2", "gpt2-untied", Save("gpt2-untied.safetensors", p => Gpt2Checkpoint.Save(gqa, p))) { Config = gqaConfig with { KvHeads = 4 } });

        using var p3 = PalettizedModel.Cluster(tied, new DkmOptions { Bits = 3, KMeansIterations = 3 });
        using var p2 = PalettizedModel.Cluster(gqa, new DkmOptions { Bits = 2, GroupSize = 8, KMeansIterations = 3 }, includeEmbeddings: true);
        files.Add(new("palettized", "pal-3bit", Save("pal3.safetensors", p => p3.Save(p))) { Config = tiedConfig });
        files.Add(new("palettized", "pal-2bit-grouped", Save("pal2.safetensors", p => p2.Save(p))) { Config = gqaConfig });

        files.Add(new("onnx-lm", "onnx-tied", Save("tied.onnx", p => TinyGptOnnx.Export(tied, p))) { Config = tiedConfig });
        files.Add(new("onnx-lm", "onnx-pal", Save("pal3.onnx", p => TinyGptOnnx.Export(p3, p))) { Config = tiedConfig });

        TorchSharp.torch.random.manual_seed(6);
        using var rep = new RepCnn(new RepCnnConfig { Classes = 4, Channels = [8, 8] });
        rep.eval();
        rep.Reparameterize();
        files.Add(new("onnx-kws", "onnx-repcnn", Save("repcnn.onnx", p => RepCnnOnnx.Export(rep, p))));

        var random = new Random(5);
        var samples = Enumerable.Range(0, 400).Select(i => (float)(0.5 * Math.Sin(i * 0.07) + 0.1 * (random.NextDouble() - 0.5))).ToArray();
        var own = Save("own.wav", p => WaveFile.Write(p, new AudioClip(samples, 16000)));
        files.Add(new("wav", "wav-pcm16-library", own) { Wav = new WavLayout(1, 1, 16, 20, 36, 44, samples.Length * 2, false) });
        files.Add(Wav("wav-pcm8", 1, 1, 8000, 8, samples, random));
        files.Add(Wav("wav-pcm24-stereo", 1, 2, 22050, 24, samples, random));
        files.Add(Wav("wav-pcm32", 1, 1, 16000, 32, samples, random));
        files.Add(Wav("wav-float32", 3, 1, 16000, 32, samples, random));
        files.Add(Wav("wav-float64-stereo", 3, 2, 44100, 64, samples, random));
        files.Add(Wav("wav-extensible-pcm16", 1, 1, 16000, 16, samples, random, extensible: true));
        return files;
    }

    /// <summary>A WAV file written by hand: RIFF, a 16-byte (or 40-byte extensible) 'fmt ' chunk, then 'data'.</summary>
    public static BaseFile Wav(string name, int format, int channels, int rate, int bits, float[] samples, Random random, bool extensible = false)
    {
        int width = bits / 8, frame = width * channels;
        var data = new byte[samples.Length * frame];
        for (int i = 0; i < samples.Length; i++)
            for (int c = 0; c < channels; c++)
            {
                var s = data.AsSpan(i * frame + c * width, width);
                double x = samples[i] * (c == 0 ? 1 : 0.5);
                switch (format, bits)
                {
                    case (3, 32): BinaryPrimitives.WriteSingleLittleEndian(s, (float)x); break;
                    case (3, 64): BinaryPrimitives.WriteDoubleLittleEndian(s, x); break;
                    case (1, 8): s[0] = (byte)Math.Clamp(128 + Math.Round(x * 127), 0, 255); break;
                    case (1, 16): BinaryPrimitives.WriteInt16LittleEndian(s, (short)Math.Round(x * 32767)); break;
                    case (1, 24):
                        int v = (int)Math.Round(x * 8388607);
                        s[0] = (byte)v; s[1] = (byte)(v >> 8); s[2] = (byte)(v >> 16); break;
                    default: BinaryPrimitives.WriteInt32LittleEndian(s, (int)Math.Round(x * 2147483647.0)); break;
                }
            }
        var bytes = WavBytes(format, channels, rate, bits, data, extensible);
        int fmtSize = extensible ? 40 : 16;
        return new BaseFile("wav", name, bytes) { Wav = new WavLayout(format, channels, bits, 20, 20 + fmtSize, 28 + fmtSize, data.Length, extensible) };
    }

    public static byte[] WavBytes(int format, int channels, int rate, int bits, byte[] data, bool extensible = false)
    {
        int fmtSize = extensible ? 40 : 16;
        var bytes = new byte[12 + 8 + fmtSize + 8 + data.Length];
        var span = bytes.AsSpan();
        Encoding.ASCII.GetBytes("RIFF", span[0..4]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(bytes.Length - 8));
        Encoding.ASCII.GetBytes("WAVEfmt ", span[8..16]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)fmtSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], (ushort)(extensible ? 0xFFFE : format));
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)rate);
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)(rate * channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], (ushort)(channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], (ushort)bits);
        if (extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span[36..], 22);                 // extension size
            BinaryPrimitives.WriteUInt16LittleEndian(span[38..], (ushort)bits);       // valid bits
            BinaryPrimitives.WriteUInt32LittleEndian(span[40..], channels == 1 ? 4u : 3u); // channel mask
            // Sub-format GUID: the format tag, then the standard suffix 00000000-0010-8000-00AA00389B71.
            BinaryPrimitives.WriteUInt16LittleEndian(span[44..], (ushort)format);
            new byte[] { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 }.CopyTo(span[46..]);
        }
        int dataHeader = 20 + fmtSize;
        Encoding.ASCII.GetBytes("data", span[dataHeader..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(dataHeader + 4)..], (uint)data.Length);
        data.CopyTo(span[(dataHeader + 8)..]);
        return bytes;
    }
}
