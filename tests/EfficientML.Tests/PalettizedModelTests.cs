using System.Text.Json.Nodes;
using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class PalettizedModelTests
{
    static TinyGpt Model(bool tied = true, int kvHeads = 4, long seed = 11)
    {
        var model = TestModels.Random(TestModels.Small(kvHeads, tied, layers: 2), seed);
        TestModels.Scramble(model, seed);
        return model;
    }

    static PalettizedModel Clustered(TinyGpt model, int bits, int? groupSize = null, bool embeddings = false) =>
        PalettizedModel.Cluster(model, new DkmOptions { Bits = bits, GroupSize = groupSize, KMeansIterations = 5 }, includeEmbeddings: embeddings);

    [Fact]
    public void Index_packing_round_trips_at_every_width_and_is_little_endian()
    {
        var random = new Random(3);
        for (int bits = 1; bits <= 8; bits++)
        {
            foreach (int count in new[] { 1, 7, 8, 9, 1001 })
            {
                var indices = Enumerable.Range(0, count).Select(_ => (byte)random.Next(1 << bits)).ToArray();
                var packed = IndexPacking.Pack(indices, bits);
                Assert.Equal(IndexPacking.PackedLength(count, bits), packed.Length);
                Assert.Equal(indices, IndexPacking.Unpack(packed, count, bits));
            }
        }
        // 3 bits: index 0 in bits 0-2 of byte 0, index 1 in bits 3-5, index 2 straddles into byte 1.
        Assert.Equal(new byte[] { 0b11_001_101, 0b1 }, IndexPacking.Pack(new byte[] { 0b101, 0b001, 0b111 }, 3));
        Assert.Throws<InvalidSettingsException>(() => IndexPacking.Pack(new byte[] { 4 }, 2));
    }

    [Theory]
    [InlineData(true, 4)]
    [InlineData(false, 2)]
    public void Parameter_shapes_follow_the_model(bool tied, int kvHeads)
    {
        using var model = Model(tied, kvHeads);
        var expected = model.state_dict();
        var shapes = PalettizedModel.ParameterShapes(model.Config);
        Assert.Equal(expected.Keys, shapes.Keys);
        foreach (var (name, t) in expected) Assert.Equal(t.shape, shapes[name]);
    }

    [Theory]
    [InlineData(2, null, false)]
    [InlineData(3, null, true)]
    [InlineData(4, 8, false)]
    [InlineData(8, 16, true)]
    [InlineData(3, 8, true)]
    public void Save_and_load_are_exact(int bits, int? groupSize, bool embeddings)
    {
        using var model = Model(tied: !embeddings);
        using var palettized = Clustered(model, bits, groupSize, embeddings);
        var path = TestModels.TempFile("model.palettized.safetensors");
        long fileBytes = palettized.Save(path);
        using var loaded = PalettizedModel.Load(path);

        Assert.Equal(palettized.Config, loaded.Config);
        Assert.Equal(palettized.Palettes.Keys.Order(), loaded.Palettes.Keys.Order());
        foreach (var (name, p) in palettized.Palettes)
        {
            var q = loaded.Palettes[name];
            Assert.True(TestModels.Same(p.Table, q.Table), $"table of {name} differs");
            Assert.True(TestModels.Same(p.Indices, q.Indices), $"indices of {name} differ");
            Assert.Equal((p.Bits, p.GroupSize), (q.Bits, q.GroupSize));
        }
        foreach (var (name, t) in palettized.Plain) Assert.True(TestModels.Same(t, loaded.Plain[name]), $"plain {name} differs");
        Assert.Equal(palettized.Size, loaded.Size);
        Assert.Equal(new FileInfo(path).Length, fileBytes);
        Assert.InRange(fileBytes - palettized.Size.TotalBytes, 0, 16_384);                   // header and metadata only
    }

    [Theory]
    [InlineData(3, null)]
    [InlineData(2, 16)]
    public void Decoded_model_computes_the_hard_clustered_logits(int bits, int? groupSize)
    {
        using var model = Model(tied: false, kvHeads: 2);
        var options = new DkmOptions { Bits = bits, GroupSize = groupSize, KMeansIterations = 5 };
        using var layers = new ClusteredLayers(model, options);
        var palettes = layers.Palettize();
        using var palettized = PalettizedModel.Create(model, palettes);
        foreach (var p in palettes.Values) p.Dispose();
        using var decoded = palettized.ToTinyGpt();
        using var _ = no_grad();
        var tokens = TestModels.Tokens(5, 40);
        using var logits = decoded.Forward(tokens);
        using (layers.UseHardWeights())
        {
            using var expected = model.Forward(tokens);
            Assert.Equal(0.0, TestModels.MaxAbsDiff(expected, logits));
        }
        foreach (var name in layers.Names)
        {
            using var w = decoded.state_dict()[name + ".weight"].detach();
            var table = palettized.Palettes[name + ".weight"].Table;
            using var rows = w.reshape(table.shape[0], -1);
            for (long g = 0; g < table.shape[0]; g++)
            {
                using var distinct = rows[g].unique().Item1;
                Assert.InRange(distinct.numel(), 1, 1L << bits);
            }
        }
    }

    [Fact]
    public void Size_counts_packed_bits_and_tables()
    {
        using var model = Model();
        using var palettized = Clustered(model, 3);
        var size = palettized.Size;
        long linear = 2 * (4 * 32 * 32 + 2 * 32 * 64);
        Assert.Equal(linear, size.PalettizedWeights);
        Assert.Equal(model.ParameterCount, size.TotalValues);
        Assert.Equal(12 * 8 * 4, size.TableBytes);                                            // 12 tables of 8 floats
        Assert.Equal(linear * 3 / 8, size.IndexBytes);
        Assert.InRange(size.BitsPerPalettizedWeight, 3.0, 3.2);
        Assert.Equal(model.ParameterCount * 4, size.Float32Bytes);
        Assert.True(size.CompressionRatio > 1.5, size.ToString());
    }

    // ----- corrupted files -----

    static string SavedFile(out string weight)
    {
        using var model = Model();
        using var palettized = Clustered(model, 3);
        var path = TestModels.TempFile("model.palettized.safetensors");
        palettized.Save(path);
        weight = "blocks.1.mlp.fc.weight";
        return path;
    }

    /// <summary>Rewrites the file with <paramref name="edit"/> applied to its tensors and metadata.</summary>
    static void Rewrite(string path, Action<Dictionary<string, Tensor>, Dictionary<string, string>> edit)
    {
        Dictionary<string, Tensor> tensors;
        Dictionary<string, string> meta;
        using (var file = SafeTensors.Read(path))
        {
            tensors = file.Tensors.ToDictionary(p => p.Key, p => p.Value.clone());
            meta = file.Metadata.ToDictionary(p => p.Key, p => p.Value);
        }
        edit(tensors, meta);
        SafeTensors.Write(path, tensors, meta);
    }

    static void SetBits(Dictionary<string, string> meta, string weight, int bits)
    {
        var palettes = JsonNode.Parse(meta["palettes"])!.AsObject();
        palettes[weight]!["bits"] = bits;
        meta["palettes"] = palettes.ToJsonString();
    }

    static string LoadError(string path) => Assert.Throws<CheckpointException>(() => PalettizedModel.Load(path)).Message;

    [Fact]
    public void Truncated_file_gives_a_clear_error()
    {
        var path = SavedFile(out _);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var message = LoadError(path);
        Assert.Contains("truncated", message);
        Assert.Contains("tensor '", message);
    }

    [Fact]
    public void Index_bytes_that_do_not_fit_the_shape_give_a_clear_error()
    {
        var path = SavedFile(out var weight);
        Rewrite(path, (t, _) => t[weight + ".indices"] = t[weight + ".indices"].narrow(0, 0, t[weight + ".indices"].shape[0] - 1));
        var message = LoadError(path);
        Assert.Contains($"'{weight}'", message);
        Assert.Contains("too short", message);
    }

    [Fact]
    public void Index_not_below_k_gives_a_clear_error()
    {
        var path = SavedFile(out var weight);
        Rewrite(path, (t, _) =>
        {
            t[weight + ".table"] = t[weight + ".table"].narrow(1, 0, 5).contiguous();               // k = 5 at 3 bits
            t[weight + ".indices"] = full_like(t[weight + ".indices"], 0xFF);                        // every index 7
        });
        var message = LoadError(path);
        Assert.Contains($"'{weight}'", message);
        Assert.Contains("index 7", message);
        Assert.Contains("k = 5", message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    public void Bits_outside_one_to_eight_give_a_clear_error(int bits)
    {
        var path = SavedFile(out var weight);
        Rewrite(path, (_, meta) => SetBits(meta, weight, bits));
        var message = LoadError(path);
        Assert.Contains($"'{weight}'", message);
        Assert.Contains("bits must be 1–8", message);
    }

    [Fact]
    public void Missing_table_gives_a_clear_error()
    {
        var path = SavedFile(out var weight);
        Rewrite(path, (t, _) => t.Remove(weight + ".table"));
        var message = LoadError(path);
        Assert.Contains($"'{weight}.table' is missing", message);
    }

    [Fact]
    public void A_plain_checkpoint_is_not_mistaken_for_a_palettised_one()
    {
        using var model = Model();
        var path = TestModels.TempFile("plain.safetensors");
        model.Save(path);
        Assert.Contains("not a palettised TinyGpt file", LoadError(path));
    }

    [Fact]
    public void A_model_with_clustered_weights_palettises_exactly_and_one_with_too_many_values_is_named()
    {
        using var model = Model();
        using (var layers = new ClusteredLayers(model, new DkmOptions { Bits = 2, KMeansIterations = 5 }))
        using (layers.UseHardWeights())
        {
            using var exact = PalettizedModel.FromClusteredWeights(model, bits: 2);
            using var decoded = exact.ToTinyGpt();
            var tokens = TestModels.Tokens(4, 24);
            using (no_grad()) Assert.True(TestModels.Same(model.Forward(tokens), decoded.Forward(tokens)));
            Assert.Equal(6 * 2, exact.Palettes.Count);
        }
        var error = Assert.Throws<InvalidSettingsException>(() => PalettizedModel.FromClusteredWeights(model, bits: 2));
        Assert.Contains("blocks.0.attn.q_proj", error.Message);
        Assert.Contains("distinct values", error.Message);
    }
}
