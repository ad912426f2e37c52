using EfficientML.ActiveSpeaker;
using EfficientML.Core;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public class ActiveSpeakerModelTests
{
    readonly ITestOutputHelper output;

    public ActiveSpeakerModelTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    static readonly ActiveSpeakerConfig Small = new() { Width = 32, EncoderWidth = 16, Heads = 4, Mels = 10 };

    /// <summary>A model with every weight random, the relative-position biases included (they start at zero).</summary>
    static ActiveSpeakerModel Model(ActiveSpeakerConfig config, long seed)
    {
        Seeding.Everything(seed);
        var model = new ActiveSpeakerModel(config);
        using (no_grad())
            foreach (var block in model.blocks) block.relativeBias.normal_(0, 1);
        model.eval();
        return model;
    }

    static (Tensor Audio, Tensor Crops) Inputs(ActiveSpeakerConfig config, int faces, int frames, long seed)
    {
        Seeding.Everything(seed);
        return (randn(frames, config.AudioFeatures), rand(faces, frames, config.CropSize, config.CropSize));
    }

    [Fact]
    public void Streaming_with_ring_buffers_equals_the_whole_sequence_with_the_band_mask_for_random_past_and_future()
    {
        var rng = new Random(7);
        for (int trial = 0; trial < 10; trial++)
        {
            var config = Small with
            {
                Past = rng.Next(0, 20), Future = rng.Next(0, 7), Layers = 1 + rng.Next(3),
                Temporal = trial == 9 ? TemporalModel.Gru : TemporalModel.Transformer,
            };
            int faces = 1 + rng.Next(4), frames = 1 + rng.Next(60);
            using var model = Model(config, trial);
            var (audio, crops) = Inputs(config, faces, frames, 100 + trial);
            using var _ = no_grad();
            var whole = model.Forward(audio.unsqueeze(0), crops);
            var streamed = tensor(ActiveSpeakerStream.Run(model, audio, crops));
            double diff = (whole - streamed).abs().max().item<float>();
            output.WriteLine($"{config.Name} × {config.Layers}, {faces} faces, {frames} frames: {diff:G3}");
            Assert.True(diff <= 1e-5, $"{config.Name}, {config.Layers} layers, {frames} frames: streaming differs by {diff}");
        }
    }

    [Fact]
    public void A_stream_decides_each_frame_after_its_future_has_arrived_and_the_rest_when_it_ends()
    {
        var config = Small with { Past = 3, Future = 2, Layers = 2 };
        using var model = Model(config, 1);
        var (audio, crops) = Inputs(config, 2, 10, 2);
        using var stream = model.NewStream(2);
        var decided = new List<long>();
        for (int t = 0; t < 10; t++)
        {
            var frames = stream.Push(audio[t], crops[.., t]).Select(d => d.Frame).ToList();
            // Two blocks, each waiting two frames: frame t − 4 is decided when frame t arrives.
            Assert.Equal(t >= 4 ? [t - 4L] : [], frames);
            decided.AddRange(frames);
        }
        decided.AddRange(stream.Finish().Select(d => d.Frame));
        Assert.Equal(Enumerable.Range(0, 10).Select(t => (long)t), decided);
        Assert.Equal(4, config.LatencyFrames);
    }

    [Fact]
    public void A_frame_sees_exactly_P_past_and_F_future_frames()
    {
        var config = Small with { Past = 4, Future = 2 };
        using var model = Model(config, 3);
        var (audio, crops) = Inputs(config, 1, 30, 4);
        using var _ = no_grad();
        var x = model.Embed(audio.unsqueeze(0), crops);
        var before = model.Temporal(x);
        int t = 15;
        foreach (int changed in Enumerable.Range(0, 30))
        {
            var moved = x.clone();
            moved[0, changed] = moved[0, changed] + randn(config.Width) * 3;   // not a constant, which the layer norm would remove
            double diff = (model.Temporal(moved)[0, t] - before[0, t]).abs().item<float>();
            bool inBand = changed >= t - config.Past && changed <= t + config.Future;
            Assert.True(inBand ? diff > 1e-4 : diff == 0, $"frame {changed}: output at {t} moved by {diff}");
        }
    }

    [Fact]
    public void The_stream_keeps_P_plus_F_plus_1_keys_and_values_per_block_and_face_and_the_GRU_one_state()
    {
        foreach (var (past, future, layers) in new[] { (0, 0, 1), (16, 4, 2), (64, 8, 1) })
        {
            var config = Small with { Past = past, Future = future, Layers = layers };
            using var model = Model(config, 5);
            using var stream = model.NewStream(3);
            long perBlock = 3L * config.Width * sizeof(float) * (2 * (past + future + 1) + 2 * (future + 1));
            Assert.Equal(layers * perBlock, stream.StateBytes);
        }
        using var gru = Model(Small with { Temporal = TemporalModel.Gru }, 6);
        using var gruStream = gru.NewStream(3);
        Assert.Equal(3L * Small.Width * sizeof(float), gruStream.StateBytes);
    }

    [Fact]
    public void Bad_context_and_mismatched_lengths_get_one_clear_message()
    {
        Assert.Contains("0 or more", Assert.Throws<InvalidSettingsException>(() => new ActiveSpeakerModel(Small with { Past = -1 })).Message);
        Assert.Contains("0 or more", Assert.Throws<InvalidSettingsException>(() => new ActiveSpeakerModel(Small with { Future = -2 })).Message);
        using var model = Model(Small, 8);
        var (audio, crops) = Inputs(Small, 2, 12, 9);
        var error = Assert.Throws<InvalidSettingsException>(() => model.Forward(audio.narrow(0, 0, 10).unsqueeze(0), crops));
        Assert.Contains("10 video frames but the faces 12", error.Message);
        Assert.Contains("same length", Assert.Throws<InvalidSettingsException>(() => ActiveSpeakerStream.Run(model, audio.narrow(0, 0, 11), crops)).Message);
        Assert.Contains("at least one face", Assert.Throws<InvalidSettingsException>(() => model.NewStream(0)).Message);
        using var stream = model.NewStream(2);
        Assert.Contains("one crop per face", Assert.Throws<InvalidSettingsException>(() => stream.Push(audio[0], crops[0])).Message);
    }

    [Fact]
    public void Average_precision_is_one_for_a_perfect_ranking_and_the_positive_share_for_a_constant_score()
    {
        bool[] labels = [true, false, true, false, false];
        Assert.Equal(1, SpeakerTraining.AveragePrecision([0.9f, 0.1f, 0.8f, 0.2f, 0.3f], labels), 6);
        Assert.Equal(0.4, SpeakerTraining.AveragePrecision([0.5f, 0.5f, 0.5f, 0.5f, 0.5f], labels), 6);
        // Ranks 1 and 3 hold the positives: (1/1 + 2/3) / 2.
        Assert.Equal((1 + 2.0 / 3) / 2, SpeakerTraining.AveragePrecision([0.9f, 0.8f, 0.7f, 0.2f, 0.1f], [true, false, true, false, false]), 6);
        Assert.True(double.IsNaN(SpeakerTraining.AveragePrecision([0.3f], [false])));
    }
}
