using EfficientML.ActiveSpeaker;
using EfficientML.Core;
using EfficientML.Vision;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class ActiveSpeakerTrainingTests
{
    readonly ITestOutputHelper output;

    public ActiveSpeakerTrainingTests(ITestOutputHelper output)
    {
        this.output = output;
        TorchThreads.Set(1);
    }

    static readonly SpeakerDataOptions Tiny = new SpeakerDataOptions().Quick() with { TrainScenes = 6, ValidationScenes = 1, TestScenes = 2 };

    [Fact]
    public void Scenes_are_deterministic_their_splits_share_no_voice_and_their_tensors_match_the_labels()
    {
        using var data = SpeakerDataset.Build(Tiny);
        using var again = SpeakerDataset.Build(Tiny);
        Assert.Empty(data.Train.Voices.Intersect(data.Validation.Voices));
        Assert.Empty(data.Train.Voices.Intersect(data.Test.Voices));
        Assert.Empty(data.Validation.Voices.Intersect(data.Test.Voices));
        foreach (var (split, copy) in data.Splits.Zip(again.Splits))
            foreach (var (scene, same) in split.Scenes.Zip(copy.Scenes))
            {
                Assert.Contains(scene.Scene.Voice, split.Voices);
                Assert.Contains(scene.Scene.OffScreenVoice, split.Voices);
                Assert.True(scene.Audio.eq(same.Audio).all().item<bool>() && scene.Crops.eq(same.Crops).all().item<bool>());
                Assert.Equal([scene.Frames, 4 * SpeakerDataset.Features.Mels], scene.Audio.shape);
                Assert.Equal([scene.Faces, scene.Frames, FaceRenderer.Size, FaceRenderer.Size], scene.Crops.shape);
                for (int f = 0; f < scene.Faces; f++)
                    Assert.Equal(scene.Scene.Speaking[f].Select(b => b ? 1f : 0f), scene.Labels[f].data<float>().ToArray());
            }
        // Each scene's seed is arithmetic on the dataset's seed, so another process builds the same scenes (a salted hash would not).
        Assert.Equal(unchecked((int)(1u * 2654435761u ^ 3u * 40503u ^ 5u * 2246822519u)), SpeakerDataset.SceneSeed(1, 2, 4));
        // A model trained on them normalises them with the training split's statistics.
        using var model = new ActiveSpeakerModel(new ActiveSpeakerConfig());
        model.SetAudioStatistics(data.TrainLogMel);
        using var train = cat(data.Train.Scenes.Select(s => (s.Audio - model.audioMean) / model.audioStd).ToList(), 0);
        Assert.True(train.mean().abs().item<float>() < 1e-3 && Math.Abs(train.std().item<float>() - 1) < 0.05);
        Assert.Contains("audioMean", model.state_dict().Keys);
    }

    [Fact]
    public void Video_frame_f_gets_the_four_log_mel_frames_of_its_own_40_ms()
    {
        using var data = SpeakerDataset.Build(Tiny with { TrainScenes = 1, ValidationScenes = 0, TestScenes = 1 });
        var scene = data.Test.Scenes[0].Scene;
        using var logMel = new Audio.LogMel(SpeakerDataset.Features);
        using var mel = SpeakerDataset.MelFrames(logMel, scene);
        Assert.Equal(4 * scene.FrameCount, mel.shape[1]);
        // Louder frames where a sentence is heard than in the stretches where nothing is.
        var energy = mel.mean([0]).view(scene.FrameCount, 4).mean([1]).data<float>().ToArray();
        var heard = Enumerable.Range(0, scene.FrameCount).Where(f => scene.Sentences.Any(s => s.Heard((f + 0.5) / Visemes.FramesPerSecond))).ToList();
        var quiet = Enumerable.Range(0, scene.FrameCount).Except(heard).ToList();
        Assert.True(heard.Average(f => energy[f]) > quiet.Average(f => energy[f]) + 2, $"{heard.Average(f => energy[f])} vs {quiet.Average(f => energy[f])}");
    }

    [Fact]
    public void The_detector_learns_on_a_tiny_set_end_to_end_and_on_a_frozen_encoder()
    {
        using var data = SpeakerDataset.Build(Tiny);
        var options = new SpeakerTrainingOptions { Training = new SpeakerTrainingOptions().Training with { Steps = 80, EvalEvery = 80, EvalAtStart = true, BatchSize = 2 }, WindowFrames = 64 };
        Seeding.Everything(3);
        using var model = new ActiveSpeakerModel(new ActiveSpeakerConfig { Past = 8 });
        double share = data.Train.SpeakingShare;
        var run = SpeakerTraining.Train(model, data, options);
        var trained = SpeakerTraining.Score(model, data.Train);
        output.WriteLine($"end to end: validation loss {run.Evaluations[0].ValidationLoss:F3} → {run.Evaluations[^1].ValidationLoss:F3}; train AP {trained.AveragePrecision:P1} (speaking share {share:P1})");
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.True(run.Evaluations[^1].ValidationLoss < run.Evaluations[0].ValidationLoss - 0.1);
        Assert.True(trained.AveragePrecision > share + 0.3, $"{trained.AveragePrecision} vs {share}");

        // A temporal model on the frozen encoder moves only its own weights.
        Seeding.Everything(4);
        using var gru = new ActiveSpeakerModel(new ActiveSpeakerConfig { Temporal = TemporalModel.Gru });
        ContextGrid.CopyEncoder(model, gru);
        gru.FreezeEncoder();
        var encoder = model.encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var gruRun = SpeakerTraining.Train(gru, data, options);
        output.WriteLine($"GRU on the frozen encoder: {gruRun.Evaluations[0].ValidationLoss:F3} → {gruRun.Evaluations[^1].ValidationLoss:F3}");
        Assert.True(gruRun.Evaluations[^1].ValidationLoss < gruRun.Evaluations[0].ValidationLoss - 0.1);
        foreach (var (name, value) in gru.encoder.state_dict()) Assert.True(value.eq(encoder[name]).all().item<bool>(), name);
    }
}
