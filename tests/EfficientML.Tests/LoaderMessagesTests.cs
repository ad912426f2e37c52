using System.Text;
using System.Text.RegularExpressions;
using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Export;
using EfficientML.Models;
using EfficientML.Reparam;
using Google.Protobuf;

namespace EfficientML.Tests;

/// <summary>
/// Every loader refuses a damaged or lying file with one message in words: no runtime status codes, C++ locations,
/// .NET type names or serializer positions, and a path that loops is named as such.
/// </summary>
public class LoaderMessagesTests
{
    static readonly Regex Unreadable = new(@"\[ErrorCode|\.cc:\d|::\w+\(|System\.|Exception|Path: \$|LineNumber|symbolic links|transcode|could not be converted", RegexOptions.CultureInvariant);

    static string Clean(string message)
    {
        Assert.False(Unreadable.IsMatch(message), $"unreadable wording in: {message}");
        return message;
    }

    [Fact]
    public void A_symbolic_link_that_loops_or_leads_to_a_device_is_refused_by_every_loader()
    {
        var folder = Path.GetDirectoryName(TestModels.TempFile("x"))!;
        Directory.CreateDirectory(folder);
        var loop = Path.Combine(folder, "loop.safetensors");
        var zero = Path.Combine(folder, "zero.onnx");
        File.CreateSymbolicLink(loop, loop);
        File.CreateSymbolicLink(zero, "/dev/zero");
        Assert.Contains("loops", Clean(Assert.Throws<InvalidFileException>(() => TinyGpt.Load(loop)).Message));
        Assert.Contains("loops", Clean(Assert.ThrowsAny<EfficientMLException>(() => Audio.WaveFile.Read(loop)).Message));
        Assert.Contains("not a regular file", Clean(Assert.ThrowsAny<EfficientMLException>(() => new OnnxKeywordSpotter(zero)).Message));
    }

    [Fact]
    public void A_damaged_onnx_file_is_described_without_onnx_runtimes_codes_and_source_locations()
    {
        using var model = new TinyGpt(TestModels.Small(layers: 1), seed: 3);
        var path = TestModels.TempFile("cut.onnx");
        TinyGptOnnx.Export(model, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var message = Clean(Assert.ThrowsAny<EfficientMLException>(() => new OnnxLanguageModel(path)).Message);
        Assert.Contains("it is not a readable ONNX file", message);
        Assert.Contains("Re-export it with TinyGptOnnx.Export", message);
    }

    [Theory]
    [InlineData("Channels", "block 1 is 32 channels wide with kernel 5 in the graph, 16 with kernel 5 in the configuration")]
    [InlineData("KernelSize", "with kernel 5 in the graph")]
    public void A_keyword_spotters_metadata_must_describe_its_graph(string field, string expected)
    {
        using var model = new RepCnn(new RepCnnConfig { Classes = 4, Channels = [16, 32] }, 1);
        model.eval();
        using var folded = model.Reparameterize();
        var path = TestModels.TempFile("kws.onnx");
        RepCnnOnnx.Export(folded, path);
        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var entry = proto.MetadataProps.Single(p => p.Key == RepCnnOnnx.ConfigKey);
        var config = RepCnnConfig.FromJson(entry.Value);
        entry.Value = (field == "Channels" ? config with { Channels = [16, 16] } : config with { KernelSize = 3 }).ToJson();
        File.WriteAllBytes(path, proto.ToByteArray());
        Assert.Contains(expected, Clean(Assert.Throws<InvalidFileException>(() => new OnnxKeywordSpotter(path)).Message));
    }

    [Fact]
    public void A_keyword_spotter_whose_onnx_text_is_not_utf8_is_refused_in_words()
    {
        using var model = new RepCnn(new RepCnnConfig { Classes = 4, Channels = [16, 32] }, 1);
        model.eval();
        using var folded = model.Reparameterize();
        var path = TestModels.TempFile("latin1.onnx");
        RepCnnOnnx.Export(folded, path);
        var bytes = File.ReadAllBytes(path);
        int at = Encoding.ASCII.GetString(bytes).IndexOf("\"Mels\"", StringComparison.Ordinal) + 1;
        Assert.True(at > 0);
        bytes[at] = 0xC3; // a lead byte followed by 'e': not UTF-8
        File.WriteAllBytes(path, bytes);
        var message = Clean(Assert.Throws<InvalidFileException>(() => new OnnxKeywordSpotter(path)).Message);
        Assert.Contains("not valid UTF-8", message);
    }

    [Fact]
    public void A_safetensors_header_that_is_not_utf8_is_refused_in_words()
    {
        using var model = new TinyGpt(TestModels.Small(layers: 1), seed: 3);
        var path = TestModels.TempFile("latin1.safetensors");
        model.Save(path);
        var bytes = File.ReadAllBytes(path);
        int name = Encoding.ASCII.GetString(bytes, 8, (int)BitConverter.ToUInt64(bytes, 0)).IndexOf("\"blocks", StringComparison.Ordinal) + 9;
        Assert.True(name > 9);
        bytes[name] = 0xE9; // 'é' in Latin-1: not UTF-8 on its own
        File.WriteAllBytes(path, bytes);
        var message = Clean(Assert.Throws<CheckpointException>(() => TinyGpt.Load(path)).Message);
        Assert.True(message.Contains("not UTF-8 text"), message);
    }

    [Fact]
    public void A_gpt2_files_metadata_must_describe_its_tensors()
    {
        using var model = new TinyGpt(TestModels.Small(layers: 1), seed: 3);
        var path = TestModels.TempFile("gpt2.safetensors");
        Gpt2Checkpoint.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToUInt64(bytes, 0));
        var lying = header.Replace("\"vocab_size\":\"256\"", "\"vocab_size\":\"512\"");
        Assert.NotEqual(header, lying);
        Encoding.UTF8.GetBytes(lying).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("its metadata says vocab_size = 512 but its tensors have 256", Clean(Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path)).Message));
    }

    [Fact]
    public async Task A_gpt2_config_json_that_is_a_pipe_or_contradicts_the_tensors_is_refused()
    {
        using var model = new TinyGpt(TestModels.Small(layers: 1), seed: 3);
        var path = TestModels.TempFile("model.safetensors");
        Gpt2Checkpoint.Save(model, path, writeConfigJson: true);
        var config = Path.Combine(Path.GetDirectoryName(path)!, "config.json");
        var text = File.ReadAllText(config);
        File.WriteAllText(config, text.Replace("\"vocab_size\": 256", "\"vocab_size\": 257"));
        Assert.NotEqual(text, File.ReadAllText(config));
        Assert.Contains("vocab_size = 257", Clean(Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path)).Message));
        File.Delete(config);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", config)!) await mkfifo.WaitForExitAsync();
        var load = Task.Run(() => Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path)).Message);
        var message = await load.WaitAsync(TimeSpan.FromSeconds(20)); // a read of the pipe would block here
        Assert.Contains("not a regular file", Clean(message));
    }

    [Fact]
    public void Models_of_different_shapes_are_named_by_their_differences()
    {
        using var a = new TinyGpt(TestModels.Small(layers: 1), seed: 1);
        using var b = new TinyGpt(TestModels.Small(layers: 2), seed: 1);
        var message = Clean(Assert.Throws<InvalidSettingsException>(() =>
            TrainingRace.NewRace(a, b, Text.TextCorpus.MobyDick(), new TrainingOptions { Steps = 1 }, "a", "b")).Message);
        Assert.Contains("differ in Layers 1 against 2", message);
        Assert.DoesNotContain("{", message);
    }
}
