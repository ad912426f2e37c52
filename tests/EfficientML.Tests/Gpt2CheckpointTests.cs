using System.Text.Json.Nodes;
using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Tests;

public class Gpt2CheckpointTests
{
    static TinyGptConfig Small(bool tied = true, string activation = TinyGptConfig.GeluTanh, int kvHeads = 4) =>
        TestModels.Small(kvHeads, tied, layers: 2) with { Activation = activation };

    /// <summary>A TinyGpt's weights under Hugging Face GPT-2 names and layouts, written independently of Gpt2Checkpoint.Save.</summary>
    static List<KeyValuePair<string, Tensor>> HuggingFaceTensors(TinyGpt model, string prefix = "", bool buffers = false)
    {
        var c = model.Config;
        var list = new List<KeyValuePair<string, Tensor>>
        {
            new(prefix + "wte.weight", model.wte.weight!.detach()), new(prefix + "wpe.weight", model.wpe.weight!.detach()),
        };
        for (int i = 0; i < c.Layers; i++)
        {
            var b = model.blocks[i];
            string h = $"{prefix}h.{i}.";
            var qkv = cat([b.attn.q_proj.weight!, b.attn.k_proj.weight!, b.attn.v_proj.weight!], 0).detach(); // (3d, d) as Linear
            var qkvBias = cat([b.attn.q_proj.bias!, b.attn.k_proj.bias!, b.attn.v_proj.bias!], 0).detach();
            list.AddRange(
            [
                new(h + "ln_1.weight", b.ln_1.weight!.detach()), new(h + "ln_1.bias", b.ln_1.bias!.detach()),
                new(h + "attn.c_attn.weight", qkv.t().contiguous()), new(h + "attn.c_attn.bias", qkvBias),   // Conv1D: (in, out)
                new(h + "attn.c_proj.weight", b.attn.o_proj.weight!.detach().t().contiguous()), new(h + "attn.c_proj.bias", b.attn.o_proj.bias!.detach()),
                new(h + "ln_2.weight", b.ln_2.weight!.detach()), new(h + "ln_2.bias", b.ln_2.bias!.detach()),
                new(h + "mlp.c_fc.weight", b.mlp.fc.weight!.detach().t().contiguous()), new(h + "mlp.c_fc.bias", b.mlp.fc.bias!.detach()),
                new(h + "mlp.c_proj.weight", b.mlp.proj.weight!.detach().t().contiguous()), new(h + "mlp.c_proj.bias", b.mlp.proj.bias!.detach()),
            ]);
            if (buffers)
            {
                list.Add(new(h + "attn.bias", ones(c.ContextLength, c.ContextLength).tril().view(1, 1, c.ContextLength, c.ContextLength)));
                list.Add(new(h + "attn.masked_bias", tensor(-1e4f)));
            }
        }
        list.Add(new(prefix + "ln_f.weight", model.ln_f.weight!.detach()));
        list.Add(new(prefix + "ln_f.bias", model.ln_f.bias!.detach()));
        if (model.lm_head is { } head) list.Add(new("lm_head.weight", head.weight!.detach()));
        return list;
    }

    static void WriteConfigJson(string modelPath, JsonObject config) =>
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(modelPath)!, "config.json"), config.ToJsonString());

    static double LogitDiff(TinyGpt a, TinyGpt b)
    {
        using var _ = no_grad();
        var tokens = TestModels.Tokens(5, 24);
        return TestModels.MaxAbsDiff(a.Forward(tokens), b.Forward(tokens));
    }

    [Theory]
    [InlineData(true, TinyGptConfig.GeluTanh)]
    [InlineData(false, TinyGptConfig.GeluTanh)]
    [InlineData(true, TinyGptConfig.Gelu)]
    [InlineData(false, TinyGptConfig.Gelu)]
    public void Gpt2_round_trip_is_exact(bool tied, string activation)
    {
        var path = TestModels.TempFile("model.safetensors");
        using var model = TestModels.Random(Small(tied, activation) with { NormEps = 1e-6 });
        Gpt2Checkpoint.Save(model, path);
        using var loaded = Gpt2Checkpoint.Load(path);
        Assert.Equal(model.Config, loaded.Config);
        var expected = model.state_dict();
        var actual = loaded.state_dict();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, value) in expected)
            Assert.True(TestModels.Same(value, actual[name]), $"parameter {name} differs");
        Assert.Equal(0.0, LogitDiff(model, loaded));
    }

    [Fact]
    public void The_file_uses_hugging_face_names_layouts_and_metadata()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var model = TestModels.Random(Small(tied: false));
        Gpt2Checkpoint.Save(model, path, writeConfigJson: true);
        using var file = SafeTensors.Read(path);
        Assert.Equal([32, 96], file.Tensors["h.0.attn.c_attn.weight"].shape);
        Assert.Equal([32, 64], file.Tensors["h.1.mlp.c_fc.weight"].shape);
        Assert.Equal([64, 32], file.Tensors["h.1.mlp.c_proj.weight"].shape);
        Assert.True(TestModels.Same(file.Tensors["h.0.mlp.c_fc.weight"], model.blocks[0].mlp.fc.weight!.detach().t()));
        Assert.Contains("lm_head.weight", file.Tensors.Keys);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("4", file.Metadata["n_head"]);
        Assert.Equal("2", file.Metadata["n_layer"]);
        Assert.Equal("32", file.Metadata["n_embd"]);
        Assert.Equal("48", file.Metadata["n_positions"]);
        Assert.Equal("256", file.Metadata["vocab_size"]);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(path)!, "config.json")))!.AsObject();
        Assert.Equal("gpt2", config["model_type"]!.GetValue<string>());
        Assert.Equal("gelu_new", config["activation_function"]!.GetValue<string>());
        Assert.Equal(64, config["n_inner"]!.GetValue<int>());
        Assert.Equal(48, config["n_ctx"]!.GetValue<int>());
        Assert.False(config["tie_word_embeddings"]!.GetValue<bool>());

        using var tiedModel = TestModels.Random(Small(tied: true));
        Gpt2Checkpoint.Save(tiedModel, path);
        using var tiedFile = SafeTensors.Read(path);
        Assert.DoesNotContain("lm_head.weight", tiedFile.Tensors.Keys);
    }

    [Theory]
    [InlineData("absent")]
    [InlineData("copy of wte")]
    [InlineData("separate")]
    public void A_hand_written_hugging_face_file_loads_with_the_same_logits(string head)
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small(tied: head != "separate") with { NormEps = 1e-6 });
        var tensors = HuggingFaceTensors(source, prefix: "transformer.", buffers: true);
        if (head == "copy of wte") tensors.Add(new("lm_head.weight", source.wte.weight!.detach().clone()));
        SafeTensors.Write(path, tensors); // no metadata: the head count must come from config.json
        WriteConfigJson(path, new JsonObject
        {
            ["model_type"] = "gpt2", ["n_head"] = 4, ["n_layer"] = 2, ["n_embd"] = 32, ["layer_norm_epsilon"] = 1e-6,
            ["activation_function"] = "gelu_new",
        });
        using var loaded = Gpt2Checkpoint.Load(path);
        Assert.Equal(source.Config, loaded.Config);
        Assert.True(LogitDiff(source, loaded) <= 1e-5);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void A_grouped_query_model_is_saved_with_repeated_heads_and_computes_the_same_logits(int kvHeads)
    {
        var path = TestModels.TempFile("model.safetensors");
        using var model = TestModels.Random(Small(kvHeads: kvHeads));
        Gpt2Checkpoint.Save(model, path);
        using var loaded = Gpt2Checkpoint.Load(path);
        Assert.Equal(4, loaded.Config.KvHeads);
        Assert.Equal(model.Config with { KvHeads = 4 }, loaded.Config);
        var diff = LogitDiff(model, loaded);
        Assert.True(diff <= 1e-5, $"max |Δ| = {diff}");
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Half_precision_weights_load_as_float32(ScalarType dtype)
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source).Select(p => KeyValuePair.Create(p.Key, p.Value.to(dtype))));
        using var loaded = Gpt2Checkpoint.Load(path, heads: 4);
        Assert.Equal(ScalarType.Float32, loaded.wte.weight!.dtype);
        using var rounded = source.wte.weight!.detach().to(dtype).to(float32);
        Assert.True(TestModels.Same(rounded, loaded.wte.weight!));
        Assert.Null(loaded.lm_head);
    }

    [Fact]
    public void The_tanh_activation_matches_the_gpt2_formula()
    {
        using var model = TestModels.Random(Small());
        using var _ = no_grad();
        var x = 40 * randn(2, 5, 32, generator: new Generator(3)); // hidden values of a few units, where the two GELUs differ most
        var mlp = model.blocks[0].mlp;
        var h = mlp.fc.forward(x);
        var gelu = 0.5 * h * (1 + tanh(Math.Sqrt(2 / Math.PI) * (h + 0.044715 * h.pow(3))));
        var diff = TestModels.MaxAbsDiff(mlp.forward(x), mlp.proj.forward(gelu));
        Assert.True(diff <= 1e-5, $"max |Δ| = {diff}");
        var exact = TestModels.MaxAbsDiff(F.gelu(h), gelu);
        Assert.True(exact > 1e-4, $"exact vs tanh GELU: max |Δ| = {exact}"); // and it is a different function from the exact GELU
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source, "transformer.").Where(p => p.Key != "transformer.h.1.mlp.c_proj.bias"));
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path, heads: 4));
        Assert.Contains("'h.1.mlp.c_proj.bias'", error.Message);
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_named_with_both_shapes()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source).Select(p =>
            p.Key == "h.1.mlp.c_fc.weight" ? KeyValuePair.Create(p.Key, zeros(32, 65)) : p));
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path, heads: 4));
        Assert.Contains("'h.1.mlp.c_fc.weight'", error.Message);
        Assert.Contains("[32, 65]", error.Message);
        Assert.Contains("[32, 64]", error.Message);
    }

    [Fact]
    public void A_linear_weight_in_the_wrong_layout_is_named()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source).Select(p =>
            p.Key == "h.0.attn.c_attn.weight" ? KeyValuePair.Create(p.Key, p.Value.t().contiguous()) : p));
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path, heads: 4));
        Assert.Contains("'h.0.attn.c_attn.weight'", error.Message);
        Assert.Contains("[32, 96]", error.Message);
    }

    [Fact]
    public void A_missing_head_count_asks_for_heads_or_a_config_json()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source));
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path));
        Assert.Contains("heads:", error.Message);
        Assert.Contains("config.json", error.Message);
        using var loaded = Gpt2Checkpoint.Load(path, heads: 4);
        Assert.True(LogitDiff(source, loaded) <= 1e-5);
    }

    [Fact]
    public void A_head_count_that_does_not_divide_the_width_is_refused()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source));
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path, heads: 5));
        Assert.Contains("5 heads", error.Message);
    }

    [Fact]
    public void A_corrupted_file_is_refused_clearly()
    {
        var path = TestModels.TempFile("model.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "This is not a safetensors file, just some text that ended up with that name.");
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path, heads: 4));
        Assert.Contains(path, error.Message);
        Assert.Contains("not a safetensors file", error.Message);

        using var source = TestModels.Random(Small());
        Gpt2Checkpoint.Save(source, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path)).Message);
    }

    [Fact]
    public void Unknown_tensors_are_named_rather_than_ignored()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, [.. HuggingFaceTensors(source, buffers: true), new("score.weight", zeros(2, 32))]);
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path, heads: 4));
        Assert.Contains("'score.weight'", error.Message);
    }

    [Fact]
    public void Blocks_must_be_numbered_without_gaps()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source).Select(p => KeyValuePair.Create(p.Key.Replace("h.1.", "h.2."), p.Value)));
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path, heads: 4));
        Assert.Contains("h.1", error.Message);
        Assert.Contains("gaps", error.Message);
    }

    [Fact]
    public void A_tinygpt_checkpoint_is_pointed_to_TinyGpt_Load()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var model = TestModels.Random(Small());
        model.Save(path);
        Assert.Contains("TinyGpt.Load", Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path)).Message);
    }

    [Fact]
    public void A_config_json_with_an_unsupported_activation_is_refused()
    {
        var path = TestModels.TempFile("model.safetensors");
        using var source = TestModels.Random(Small());
        SafeTensors.Write(path, HuggingFaceTensors(source));
        WriteConfigJson(path, new JsonObject { ["n_head"] = 4, ["activation_function"] = "relu" });
        var error = Assert.Throws<CheckpointException>(() => Gpt2Checkpoint.Load(path));
        Assert.Contains("\"relu\"", error.Message);
        Assert.Contains("gelu_new", error.Message);
    }

    [Fact]
    public void A_configuration_json_without_Activation_reads_as_exact_gelu()
    {
        // The JSON of a checkpoint saved before Activation existed.
        const string old = """{"VocabSize":256,"ContextLength":48,"Layers":2,"Dim":32,"Heads":4,"KvHeads":4,"MlpDim":64,"TiedHead":true,"NormEps":1E-05}""";
        var config = TinyGptConfig.FromJson(old);
        Assert.Equal(TinyGptConfig.Gelu, config.Activation);
        Assert.Equal(TestModels.Small(layers: 2), config);
        Assert.Equal(config, TinyGptConfig.FromJson(config.ToJson()));
        Assert.Equal(config.ParameterCount, (config with { Activation = TinyGptConfig.GeluTanh }).ParameterCount);
    }

    [Fact]
    public void An_unknown_activation_is_refused_naming_the_allowed_values()
    {
        var error = Assert.Throws<InvalidSettingsException>(() => (TestModels.Small() with { Activation = "relu" }).Validate());
        Assert.Contains("\"gelu\"", error.Message);
        Assert.Contains("\"gelu_tanh\"", error.Message);
        Assert.Contains("\"relu\"", error.Message);
        Assert.Throws<InvalidSettingsException>(() => TinyGptConfig.FromJson("""{"Activation":"swish"}"""));
    }
}
