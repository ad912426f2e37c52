using System.Text;
using System.Text.Json.Nodes;
using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class CheckpointTests
{
    [Fact]
    public void A_saved_model_loads_back_with_identical_logits_and_configuration()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var model = TestModels.Random(TestModels.Small(kvHeads: 2, tied: false));
        model.Save(path, metadata: new Dictionary<string, string> { ["note"] = "round trip" });
        using var loaded = TinyGpt.Load(path);
        loaded.eval();
        var tokens = TestModels.Tokens(3, 20);
        using var _ = no_grad();
        Assert.Equal(model.Config, loaded.Config);
        Assert.Equal(0.0, TestModels.MaxAbsDiff(model.Forward(tokens), loaded.Forward(tokens)));
        Assert.Equal("round trip", TinyGpt.ReadMetadata(path)["note"]);
    }

    [Fact]
    public void The_file_is_standard_safetensors()
    {
        var path = TestModels.TempFile("plain.safetensors");
        using var weight = arange(6, dtype: float32).reshape(2, 3);
        SafeTensors.Write(path, [new("w", weight)], new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0, (8 + headerLength) % 8);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength).TrimEnd())!.AsObject();
        Assert.Equal("F32", header["w"]!["dtype"]!.GetValue<string>());
        Assert.Equal("v", header["__metadata__"]!["k"]!.GetValue<string>());
        Assert.Equal(8 + headerLength + 24, bytes.Length);
        Assert.Equal(5f, BitConverter.ToSingle(bytes, 8 + headerLength + 20));
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int8)]
    public void Other_dtypes_round_trip(ScalarType dtype)
    {
        var path = TestModels.TempFile("dtypes.safetensors");
        using var t = (arange(12, dtype: float32) - 5).reshape(3, 4).to(dtype);
        SafeTensors.Write(path, [new("t", t)]);
        using var file = SafeTensors.Read(path);
        Assert.Equal(dtype, file.Tensors["t"].dtype);
        Assert.True(TestModels.Same(t, file.Tensors["t"]));
    }

    [Fact]
    public void A_missing_file_names_the_path()
    {
        using var model = TestModels.Random();
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(model, "/nowhere/model.safetensors"));
        Assert.Contains("/nowhere/model.safetensors", error.Message);
    }

    [Fact]
    public void A_truncated_file_says_so_and_leaves_the_model_unchanged()
    {
        var path = TestModels.TempFile("cut.safetensors");
        using var model = TestModels.Random();
        model.Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 1000)]);
        using var other = TestModels.Random(seed: 99);
        using var before = other.wte.weight!.clone();
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(other, path));
        Assert.Contains("truncated", error.Message);
        Assert.True(TestModels.Same(before, other.wte.weight!));
        File.WriteAllBytes(path, bytes[..5]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => TinyGpt.Load(path)).Message);
    }

    [Fact]
    public void A_checkpoint_of_another_shape_names_the_tensor_that_differs()
    {
        var path = TestModels.TempFile("wide.safetensors");
        using var wide = TestModels.Random(TestModels.Small() with { MlpDim = 96 });
        Checkpoint.Save(wide, path);
        using var narrow = TestModels.Random();
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(narrow, path));
        Assert.Contains("'blocks.0.mlp.fc.weight'", error.Message);
        Assert.Contains("[96, 32]", error.Message);
    }

    [Fact]
    public void A_checkpoint_with_other_layers_lists_what_is_missing()
    {
        var path = TestModels.TempFile("deep.safetensors");
        using var shallow = TestModels.Random(TestModels.Small(layers: 2));
        Checkpoint.Save(shallow, path);
        using var deep = TestModels.Random(TestModels.Small(layers: 3));
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(deep, path));
        Assert.Contains("Missing: 'blocks.2.", error.Message);
    }

    [Fact]
    public void A_safetensors_file_without_a_tinygpt_configuration_is_refused_clearly()
    {
        var path = TestModels.TempFile("foreign.safetensors");
        using var t = zeros(2);
        SafeTensors.Write(path, [new("x", t)]);
        Assert.Contains("not a TinyGpt checkpoint", Assert.Throws<CheckpointException>(() => TinyGpt.Load(path)).Message);
    }

    [Fact]
    public void A_copy_has_the_same_weights_and_does_not_share_them()
    {
        using var model = TestModels.Random();
        using var copy = model.Copy();
        var tokens = TestModels.Tokens(2, 20);
        using (torch.no_grad())
        {
            Assert.True(TestModels.Same(model.Forward(tokens), copy.Forward(tokens)));
            copy.wte.weight!.add_(1);
        }
        Assert.False(TestModels.Same(model.wte.weight!, copy.wte.weight!));
        Assert.Equal(model.training, copy.training);
    }
}
