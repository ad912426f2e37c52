using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Tests;

/// <summary>Files whose header or metadata lie: each is refused at once, with a message that says what does not match.</summary>
public class CheckpointLiesTests
{
    static readonly TinyGptConfig Config = TestModels.Small();

    /// <summary>A small saved model, then its header rewritten by <paramref name="edit"/> (the data untouched).</summary>
    static string Lying(Action<JsonObject> edit, Func<byte[], byte[]>? raw = null)
    {
        var path = TestModels.TempFile("lie.safetensors");
        using (var model = TestModels.Random(Config)) model.Save(path);
        var bytes = File.ReadAllBytes(path);
        int size = (int)BitConverter.ToUInt64(bytes, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, size).TrimEnd())!.AsObject();
        edit(header);
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var data = bytes[(8 + size)..];
        var rewritten = BitConverter.GetBytes((ulong)json.Length).Concat(json).Concat(data).ToArray();
        File.WriteAllBytes(path, raw?.Invoke(rewritten) ?? rewritten);
        return path;
    }

    static JsonObject ConfigOf(JsonObject header) => JsonNode.Parse(header["__metadata__"]!["config"]!.GetValue<string>())!.AsObject();

    static void SetConfig(JsonObject header, Action<JsonObject> edit)
    {
        var config = ConfigOf(header);
        edit(config);
        header["__metadata__"]!["config"] = config.ToJsonString();
    }

    static void Mentions(string expected, string message) => Assert.True(message.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in: {message}");

    static string Refusal(string path)
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<CheckpointException>(() => TinyGpt.Load(path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused only after {clock.Elapsed}");
        Assert.DoesNotContain("(Parameter", e.Message);
        Assert.DoesNotContain("Exception", e.Message);
        return e.Message;
    }

    [Theory]
    [InlineData("Layers", 100000, "Layers must be 1 to 4,096")]
    [InlineData("Layers", 16384, "Layers must be 1 to 4,096")]
    [InlineData("Layers", 48, "lacks 720 tensors")]
    [InlineData("Dim", 8192, "tensor 'wte.weight' has shape [256, 32] but its configuration implies [256, 8192]")]
    [InlineData("Dim", 100000, "tensor 'wte.weight' has shape [256, 32] but its configuration implies [256, 100000]")]
    [InlineData("MlpDim", 1000000, "has shape [64, 32] but its configuration implies [1000000, 32]")]
    public void A_configuration_that_does_not_describe_the_tensors_is_refused_before_anything_is_built(string field, int value, string message)
    {
        Mentions(message, Refusal(Lying(h => SetConfig(h, c => c[field] = value))));
    }

    [Fact]
    public void Tensor_metadata_lies_are_refused()
    {
        // Two tensors on the same bytes (the next one's bytes left to nobody).
        Mentions("inside the previous tensor", Refusal(Lying(h =>
        {
            var second = h["wpe.weight"]!["data_offsets"]!.AsArray();
            var first = h["wte.weight"]!["data_offsets"]!.AsArray();
            h["wpe.weight"]!["data_offsets"] = new JsonArray(first[0]!.GetValue<long>(), first[0]!.GetValue<long>() + second[1]!.GetValue<long>() - second[0]!.GetValue<long>());
        })));
        // Every offset shifted by 4 bytes: the first 4 bytes belong to nobody, the last tensor runs past the end.
        Mentions("belong to no tensor", Refusal(Lying(h =>
        {
            foreach (var (name, node) in h)
                if (name != "__metadata__")
                {
                    var o = node!["data_offsets"]!.AsArray();
                    node["data_offsets"] = new JsonArray(o[0]!.GetValue<long>() + 4, o[1]!.GetValue<long>() + 4);
                }
        })));
        // F32 weights relabelled as I32: the byte counts still add up, but a TinyGpt's weights are floating point.
        Mentions("is stored as Int32", Refusal(Lying(h => h["ln_f.bias"]!["dtype"] = "I32")));
        Mentions("negative dimension", Refusal(Lying(h => h["ln_f.bias"]!["shape"] = new JsonArray(-1, -1, 64))));
        Mentions("has no dtype", Refusal(Lying(h => h["ln_f.bias"]!.AsObject().Remove("dtype"))));
        // The header length one byte short: the data then starts a byte early and one byte is left over.
        Mentions("is not valid JSON (it has a syntax error or an early end near byte", Refusal(Lying(_ => { }, raw: b =>
        {
            var copy = (byte[])b.Clone();
            BitConverter.GetBytes(BitConverter.ToUInt64(b, 0) - 1).CopyTo(copy, 0);
            return copy;
        })));
        // The same with the header padded by spaces (as the writer pads it): the JSON still parses, the byte count does not add up.
        Mentions("its header accounts for", Refusal(Lying(h => h["__metadata__"]!["pad"] = "x", raw: b =>
        {
            int size = (int)BitConverter.ToUInt64(b, 0);
            var padded = b[..(8 + size)].Concat(Encoding.ASCII.GetBytes("        ")).Concat(b[(8 + size)..]).ToArray();
            BitConverter.GetBytes((ulong)(size + 8 - 1)).CopyTo(padded, 0);
            return padded;
        })));
    }

    [Fact]
    public void Configuration_json_that_is_not_a_configuration_is_refused_with_where()
    {
        Mentions("not valid JSON", Refusal(Lying(h => h["__metadata__"]!["config"] = "{ not json")));
        Mentions("at field Layers", Refusal(Lying(h => SetConfig(h, c => c["Layers"] = "many"))));
        Mentions("not valid JSON", Refusal(Lying(h => h["__metadata__"]!["config"] = "{\"Dim\":32,\"Dim\":64}")));
    }

    [Fact]
    public void A_pipe_or_a_folder_is_refused_without_waiting()
    {
        var folder = Path.Combine(Path.GetTempPath(), "efml-pipe-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var fifo = Path.Combine(folder, "model.safetensors");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        Mentions("not a regular file", Refusal(fifo));
        Assert.Contains("is a folder", Assert.Throws<InvalidSettingsException>(() => TinyGpt.Load(folder)).Message);
    }

    [Fact]
    public void The_shapes_a_configuration_implies_are_those_the_model_has()
    {
        foreach (var config in new[] { TestModels.Small(), TestModels.Small(kvHeads: 2, tied: false) })
        {
            using var model = new TinyGpt(config);
            var actual = model.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
            var expected = config.TensorShapes();
            Assert.Equal(actual.Keys.Order(), expected.Keys.Order());
            foreach (var (name, shape) in expected) Assert.Equal(actual[name], shape);
        }
    }

    [Fact]
    public void A_model_too_large_for_this_machine_is_refused_with_the_estimate()
    {
        var huge = new TinyGptConfig { Dim = 65536, Heads = 2, KvHeads = 2, Layers = 1, MlpDim = 262144 };
        var e = Assert.Throws<InvalidSettingsException>(() => new TinyGpt(huge));
        Assert.Contains("needs about", e.Message);
        Assert.Contains("of memory, but this machine has", e.Message);
    }
}
