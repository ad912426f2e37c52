using EfficientML.Core;
using EfficientML.Export;
using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using Onnx;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class OnnxKeywordSpotterTests
{
    const double Tolerance = 1e-5; // relative to the logits' scale
    readonly ITestOutputHelper output;

    public OnnxKeywordSpotterTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    static RepCnnConfig Config => new() { Classes = 6, Channels = [24, 32, 32, 48], Strides = [1, 2, 1, 2], Dilations = [1, 1, 2, 1] };

    /// <summary>A folded RepCnn whose batch norms carried random statistics, so the folded weights are far from trivial.</summary>
    static RepCnn FoldedModel(long seed = 13)
    {
        var model = new RepCnn(Config, seed);
        RepCnnTests.RandomiseBatchNorms(model, seed);
        model.eval();
        return model.Reparameterize();
    }

    [Fact]
    public void Onnx_runtime_computes_the_same_logits_as_the_folded_model()
    {
        using var model = FoldedModel();
        var path = TestModels.TempFile("repcnn.onnx");
        RepCnnOnnx.Export(model, path);
        using var spotter = new OnnxKeywordSpotter(path, threads: 1);
        Assert.Equal((40, 6), (spotter.Mels, spotter.Classes));
        using var _ = no_grad();
        double gap = 0;
        foreach (int frames in new[] { 98, 37 })
            foreach (int batch in new[] { 1, 3 })
            {
                using var features = randn([batch, 40, frames], generator: new Generator((ulong)(frames * 10 + batch)));
                using var expected = model.forward(features);
                using var actual = spotter.Run(features);
                Assert.Equal(expected.shape, actual.shape);
                gap = Math.Max(gap, TestModels.MaxRelativeDiff(expected, actual));
                var flat = spotter.Run(features.contiguous().data<float>().ToArray(), batch, frames);
                Assert.Equal(actual.data<float>().ToArray(), flat);
            }
        output.WriteLine($"ONNX Runtime vs TorchSharp: max |Δ| / max |logit| = {gap:E2}");
        Assert.True(gap <= Tolerance, $"max |Δ| / max |logit| = {gap}");
    }

    [Fact]
    public void Graph_has_one_conv_per_block_and_records_the_configuration()
    {
        using var model = FoldedModel();
        var path = TestModels.TempFile("repcnn.onnx");
        RepCnnOnnx.Export(model, path);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(RepCnnOnnx.IrVersion, proto.IrVersion);
        Assert.Equal(RepCnnOnnx.Opset, proto.OpsetImport.Single().Version);
        var ops = proto.Graph.Node.Select(n => n.OpType).ToList();
        Assert.Equal(Config.Blocks, ops.Count(o => o == "Conv"));
        Assert.Equal(Config.Blocks, ops.Count(o => o == "Relu"));
        Assert.Equal(["Conv", "Relu", "ReduceMean", "Gemm", "Identity"], ops.Distinct().ToArray());
        var input = proto.Graph.Input.Single().Type.TensorType.Shape.Dim;
        Assert.Equal(["batch", "", "frames"], input.Select(d => d.DimParam).ToArray());
        using var spotter = new OnnxKeywordSpotter(path);
        Assert.Equal(Config, spotter.Config);
    }

    [Fact]
    public void Exporting_an_unfolded_model_says_to_fold_first()
    {
        using var model = new RepCnn(Config, seed: 1);
        var e = Assert.Throws<EfficientMLException>(() => RepCnnOnnx.Export(model, TestModels.TempFile("unfolded.onnx")));
        Assert.Contains("Reparameterize()", e.Message);
    }

    [Fact]
    public void Missing_or_corrupt_files_and_bad_input_give_clear_errors()
    {
        var missing = TestModels.TempFile("missing.onnx");
        Assert.Contains("RepCnnOnnx.Export", Assert.Throws<MissingFileException>(() => new OnnxKeywordSpotter(missing)).Message);
        var corrupt = TestModels.TempFile("corrupt.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(corrupt)!);
        File.WriteAllBytes(corrupt, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        Assert.Contains("cannot load", Assert.Throws<InvalidFileException>(() => new OnnxKeywordSpotter(corrupt)).Message);
        using var model = FoldedModel();
        var path = TestModels.TempFile("repcnn.onnx");
        RepCnnOnnx.Export(model, path);
        using var spotter = new OnnxKeywordSpotter(path);
        Assert.Contains("Expected 2 × 40 × 10", Assert.Throws<InvalidSettingsException>(() => spotter.Run(new float[100], 2, 10)).Message);
        Assert.Contains("(batch, 40, frames)", Assert.Throws<InvalidSettingsException>(() => spotter.Run(zeros(1, 32, 10))).Message);
    }
}
