using EfficientML.Core;
using EfficientML.Clustering;
using EfficientML.Export;
using EfficientML.Models;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class OnnxExportTests
{
    const double Tolerance = 1e-4;

    static TinyGpt Model(bool tied, int kvHeads, string activation, long seed = 21)
    {
        var model = TestModels.Random(TestModels.Small(kvHeads, tied, layers: 2) with { Activation = activation }, seed);
        TestModels.Scramble(model, seed);
        return model;
    }

    /// <summary>Largest |Δ| between TorchSharp's and ONNX Runtime's logits, over a batch of 2 at a short and at the full length.</summary>
    static double LogitGap(TinyGpt reference, string onnxPath)
    {
        using var runtime = new OnnxLanguageModel(onnxPath);
        using var _ = no_grad();
        double gap = 0;
        foreach (int time in new[] { 1, 17, reference.Config.ContextLength })
        {
            var tokens = cat([TestModels.Tokens(time, time), TestModels.Tokens(time + 1, time)], 0); // (2, T)
            using var expected = reference.Forward(tokens);
            using var actual = runtime.Forward(tokens);
            Assert.Equal(expected.shape, actual.shape);
            gap = Math.Max(gap, TestModels.MaxAbsDiff(expected, actual));
        }
        return gap;
    }

    [Theory]
    [InlineData(true, 4, TinyGptConfig.Gelu)]
    [InlineData(false, 4, TinyGptConfig.GeluTanh)]
    [InlineData(true, 2, TinyGptConfig.GeluTanh)]
    [InlineData(false, 1, TinyGptConfig.Gelu)]
    public void Onnx_runtime_computes_the_same_logits_as_TorchSharp(bool tied, int kvHeads, string activation)
    {
        using var model = Model(tied, kvHeads, activation);
        var path = TestModels.TempFile("model.onnx");
        TinyGptOnnx.Export(model, path);
        double gap = LogitGap(model, path);
        Assert.True(gap <= Tolerance, $"max |Δ| = {gap}");
    }

    [Theory]
    [InlineData(3, null, false)]
    [InlineData(3, 8, true)]
    [InlineData(2, 16, true)]
    [InlineData(8, null, true)]
    public void Palettised_model_runs_in_onnx_runtime_with_the_decoded_logits(int bits, int? groupSize, bool embeddings)
    {
        using var model = Model(tied: !embeddings, kvHeads: 2, TinyGptConfig.GeluTanh);
        using var palettized = PalettizedModel.Cluster(model, new DkmOptions { Bits = bits, GroupSize = groupSize, KMeansIterations = 5 }, includeEmbeddings: embeddings);
        var path = TestModels.TempFile("palettized.onnx");
        TinyGptOnnx.Export(palettized, path);
        using var decoded = palettized.ToTinyGpt();
        double gap = LogitGap(decoded, path);
        Assert.True(gap <= Tolerance, $"max |Δ| = {gap}");

        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        foreach (var (name, palette) in palettized.Palettes)
        {
            Assert.False(initializers.ContainsKey(name), $"{name} is stored decoded");
            var indices = initializers[name + ".indices"];
            Assert.Equal((int)TensorProto.Types.DataType.Uint8, indices.DataType);
            Assert.True(indices.RawData.Length <= IndexPacking.PackedLength(palette.Count, bits) + 1, $"{name}: indices are not packed");
            Assert.Equal((int)TensorProto.Types.DataType.Float, initializers[name + ".table"].DataType);
            Assert.Contains(graph.Node, n => n.OpType == "Gather" && n.Input[0] == name + ".table_flat");
        }
    }

    [Fact]
    public void Greedy_generation_through_onnx_runtime_matches_TinyGpt()
    {
        using var model = Model(tied: true, kvHeads: 2, TinyGptConfig.Gelu);
        var path = TestModels.TempFile("model.onnx");
        TinyGptOnnx.Export(model, path);
        using var runtime = new OnnxLanguageModel(path);
        var prompt = new[] { 72, 101, 108, 108, 111 };
        var expected = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 30 });
        var seen = new List<int>();
        var actual = runtime.Generate(prompt, 30, onToken: seen.Add);
        Assert.Equal(expected, actual);
        Assert.Equal(actual, seen);
        // Past the context the window slides one token at a time, as TinyGpt does without its cache.
        var longer = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 60, UseCache = false });
        Assert.Equal(longer, runtime.Generate(prompt, 60));
    }

    [Fact]
    public void Palettised_onnx_file_is_several_times_smaller_at_3_bits()
    {
        // Wide enough that weights, not the graph's few hundred nodes, dominate the file.
        using var model = TestModels.Random(TestModels.Small(layers: 2) with { Dim = 128, MlpDim = 512 });
        using var palettized = PalettizedModel.Cluster(model, new DkmOptions { Bits = 3 }, includeEmbeddings: true);
        long plainBytes = TinyGptOnnx.Export(model, TestModels.TempFile("plain.onnx"));
        long palettizedBytes = TinyGptOnnx.Export(palettized, TestModels.TempFile("palettized.onnx"));
        long fileBytes = palettized.Save(TestModels.TempFile("palettized.safetensors"));
        Assert.True(plainBytes >= 4.0 * palettizedBytes, $"float32 ONNX {plainBytes} bytes, palettised {palettizedBytes}");
        Assert.True(palettizedBytes < 1.5 * fileBytes, $"palettised ONNX {palettizedBytes} bytes, palettised file {fileBytes}");
    }

    [Fact]
    public void Onnx_file_records_the_configuration_and_opset()
    {
        using var model = Model(tied: false, kvHeads: 2, TinyGptConfig.GeluTanh);
        var path = TestModels.TempFile("model.onnx");
        TinyGptOnnx.Export(model, path);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(TinyGptOnnx.IrVersion, proto.IrVersion);
        Assert.Equal(TinyGptOnnx.Opset, proto.OpsetImport.Single().Version);
        using var runtime = new OnnxLanguageModel(path);
        Assert.Equal(model.Config, runtime.Config);
    }

    [Fact]
    public void Bad_input_gives_a_clear_error()
    {
        using var model = Model(tied: true, kvHeads: 4, TinyGptConfig.Gelu);
        var path = TestModels.TempFile("model.onnx");
        TinyGptOnnx.Export(model, path);
        using var runtime = new OnnxLanguageModel(path);
        Assert.Contains("context length", Assert.Throws<InvalidSettingsException>(() => runtime.Forward(zeros(1, 49, dtype: int64))).Message);
        Assert.Contains("outside 0..255", Assert.Throws<InvalidSettingsException>(() => runtime.Forward(full(1, 3, 256L, dtype: int64))).Message);
        Assert.Throws<MissingFileException>(() => new OnnxLanguageModel(TestModels.TempFile("missing.onnx")));
    }

    [Theory]
    [InlineData("VocabSize", 512, "logits are 256 wide but the configuration says 512")]
    [InlineData("ContextLength", 96, "does not describe its graph")]
    // Sizes the graph never checks while running a window: its weights do.
    [InlineData("ContextLength", 2, "wpe.weight holds")]
    [InlineData("MlpDim", 33, "the configuration implies")]
    [InlineData("Layers", 6, "the configuration implies")]
    public void Metadata_that_does_not_describe_the_graph_is_refused(string field, int value, string expected)
    {
        using var model = Model(tied: true, kvHeads: 4, TinyGptConfig.Gelu);
        var path = TestModels.TempFile("lie.onnx");
        TinyGptOnnx.Export(model, path);
        ModelProto proto;
        using (var stream = File.OpenRead(path)) proto = ModelProto.Parser.ParseFrom(stream);
        var entry = proto.MetadataProps.Single(p => p.Key == TinyGptOnnx.ConfigKey);
        var config = System.Text.Json.Nodes.JsonNode.Parse(entry.Value)!.AsObject();
        config[field] = value;
        entry.Value = config.ToJsonString();
        using (var stream = File.Create(path)) Google.Protobuf.MessageExtensions.WriteTo(proto, stream);
        var e = Assert.Throws<InvalidFileException>(() => new OnnxLanguageModel(path));
        Assert.Contains(expected, e.Message);
    }
}
