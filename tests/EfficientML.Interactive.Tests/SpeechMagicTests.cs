using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using static TorchSharp.torch;

namespace EfficientML.Interactive.Tests;

public class SpeechMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    const string Small = "--keywords zero,one --speakers 3 --seed 4";

    [Fact]
    public async Task Keywords_builds_a_dataset_shows_it_with_players_and_shares_it()
    {
        var result = await Kernel.SucceedAsync($"#!keywords {Small} --no-cache --name kws");
        var html = string.Join("\n", TestKernel.Html(result));
        Assert.Contains("<audio", html);
        Assert.Contains("voices per split", html);
        Assert.Contains("_unknown_", html);
        // The summary's bars and histogram and every clip's spectrogram are plotly charts; nothing is hand-drawn SVG or a PNG.
        Assert.Contains("Clips per class and split", html);
        Assert.Contains("SNR of the added noise", html);
        Assert.Contains("\"type\":\"heatmap\"", html);
        Assert.DoesNotContain("<svg", html);
        Assert.DoesNotContain("data:image/png", html);
        var data = Assert.IsType<KeywordDataset>(TestKernel.ReturnValue(await Kernel.SucceedAsync("kws")));
        Assert.Equal(["zero", "one", "_unknown_", "_silence_"], data.Labels);
        Assert.Equal(3, data.Train.Speakers.Count);
        Assert.Equal(2, data.Test.Speakers.Count);
        Assert.Empty(data.Train.Speakers.Intersect(data.Test.Speakers));
        // The same options and seed give the same samples as the library call.
        var direct = KeywordDatasetBuilder.Build(data.Options, useCache: false);
        Assert.Equal(direct.Train.Audio(5), data.Train.Audio(5));
    }

    [Fact]
    public async Task Keywords_moves_the_voices_when_asked_and_says_so_in_its_csharp()
    {
        var result = await Kernel.SucceedAsync($"#!keywords {Small} --warp 0.1 --tempo 0.15 --rooms 0.5 --no-cache --name moved");
        Assert.Contains("<audio", string.Join("\n", TestKernel.Html(result)));
        var data = Assert.IsType<KeywordDataset>(TestKernel.ReturnValue(await Kernel.SucceedAsync("moved")));
        Assert.Equal((0.1, 0.15, 0.5), (data.Options.VocalTractWarp, data.Options.TempoPerturbation, data.Options.ReverbShare));
        Assert.Contains(data.Train.Clips, c => c.Warp != 1 && c.Tempo != 1);
        var voices = KeywordsMagic.Options(new KeywordsCommand { Voices = true, Rooms = new OptionText("0") });
        Assert.Equal(VoiceRecipes.WithVoiceAugmentation(new KeywordDatasetOptions()) with { ReverbShare = 0 }, voices);
        Assert.Contains("VocalTractWarp = 0.1", KeywordsMagic.ToCSharp(new KeywordsCommand { Warp = new OptionText("0.1") }));
    }

    [Theory]
    [InlineData("--keywords \",\"", "--keywords takes names separated by commas")]
    [InlineData("--snr loud", "is not a number of decibels")]
    [InlineData("--speakers none", "--speakers takes a whole number")]
    [InlineData("--telephone 2", "--telephone must be 0 to 1 (got 2)")]
    [InlineData("--warp 0.5", "--warp must be 0 to 0.3 (got 0.5)")]
    [InlineData("--rooms -1", "--rooms must be 0 to 1 (got -1)")]
    [InlineData("--keywords one,One", "listed twice")]
    public async Task Keywords_bad_input_gets_one_message(string options, string message)
    {
        var result = await Kernel.SubmitAsync($"#!keywords {options}");
        Assert.Contains(message, TestKernel.SingleFailure(result));
    }

    [Fact]
    public async Task Reparam_folds_a_copy_checks_it_and_pictures_the_kernels()
    {
        await Kernel.SucceedAsync("""
            var spotter = new EfficientML.Reparam.RepCnn(new EfficientML.Reparam.RepCnnConfig { Classes = 4, Channels = [8, 8, 8], Strides = [1, 1, 2] }, 3);
            using (TorchSharp.torch.no_grad())
                foreach (var (name, buffer) in spotter.named_buffers())
                    if (name.EndsWith("running_var")) buffer.uniform_(0.5, 2.0);
                    else if (name.EndsWith("running_mean")) buffer.normal_(0, 0.3);
            var checkFeatures = TorchSharp.torch.randn(5, 40, 30);
            """);
        var result = await Kernel.SucceedAsync("#!reparam --model spotter --features checkFeatures --repeats 3");
        var html = string.Join("\n", TestKernel.Html(result));
        Assert.Contains("Re-parameterised", html);
        Assert.Contains("folded kernel", html);
        Assert.Contains("\"type\":\"heatmap\"", html);
        Assert.DoesNotContain("<svg", html);
        var report = Assert.IsType<ReparameterizationReport>(TestKernel.ReturnValue(await Kernel.SucceedAsync("reparam")));
        Assert.True(report.Same, $"max |Δ| {report.MaxAbsDifference}");
        Assert.Equal(new long[] { 1, 40, 30 }, report.InputShape);
        var folded = Assert.IsType<RepCnn>(TestKernel.ReturnValue(await Kernel.SucceedAsync("spotter_folded")));
        Assert.True(folded.IsReparameterized);
        var original = Assert.IsType<RepCnn>(TestKernel.ReturnValue(await Kernel.SucceedAsync("spotter")));
        Assert.False(original.IsReparameterized);
        Assert.True(original.training, "the original keeps its mode");
    }

    [Fact]
    public async Task A_magic_uses_the_model_a_cell_assigned_last_and_a_failure_registers_nothing()
    {
        await Kernel.SucceedAsync("var swapped = new EfficientML.Reparam.RepCnn(new EfficientML.Reparam.RepCnnConfig { Classes = 3, Channels = [8, 8] });");
        await Kernel.SucceedAsync("#!reparam --model swapped --repeats 1 --name firstFold --result firstReport");
        await Kernel.SucceedAsync("swapped = new EfficientML.Reparam.RepCnn(new EfficientML.Reparam.RepCnnConfig { Classes = 5, Channels = [8, 8, 8] });");
        await Kernel.SucceedAsync("#!reparam --model swapped --repeats 1 --name secondFold --result secondReport");
        var second = Assert.IsType<RepCnn>(TestKernel.ReturnValue(await Kernel.SucceedAsync("secondFold")));
        Assert.Equal(5, second.Config.Classes);
        Assert.Equal(3, second.Config.Blocks);

        await Kernel.SucceedAsync("var unregistered = new EfficientML.Reparam.RepCnn(new EfficientML.Reparam.RepCnnConfig { Classes = 3, Channels = [8, 8] });");
        TestKernel.SingleFailure(await Kernel.SubmitAsync("#!reparam --model unregistered --block 99"));
        Assert.DoesNotContain("unregistered", Kernel.Session.Models.Names);
    }

    [Theory]
    [InlineData("", "needs --model")]
    [InlineData("--model nothingHere", "No RepCnn named 'nothingHere'")]
    [InlineData("--model reparamModel --block 9", "--block 9 does not exist")]
    [InlineData("--model reparamModel --features reparamModel", "pass KeywordFeatures or a features tensor")]
    public async Task Reparam_bad_input_gets_one_message(string options, string message)
    {
        await Kernel.SucceedAsync("var reparamModel = new EfficientML.Reparam.RepCnn(new EfficientML.Reparam.RepCnnConfig { Classes = 3, Channels = [8, 8] });");
        var result = await Kernel.SubmitAsync($"#!reparam {options}");
        Assert.Contains(message, TestKernel.SingleFailure(result));
    }

    [Fact]
    public async Task Speech_values_render_as_audio_confusion_matrices_and_tables()
    {
        var html = TestKernel.Html(await Kernel.SucceedAsync("""
            var speech = EfficientML.Audio.SpeechSynthesizer.Open().Synthesize("seven");
            speech
            """));
        Assert.Contains("<audio", html.Single());
        Assert.Contains("src=\"data:audio/wav;base64,", html.Single());
        Assert.Contains("phonemes (IPA)", html.Single());
        Assert.Contains("mel band %{y}", html.Single());                         // the spectrogram, a plotly heatmap
        Assert.DoesNotContain("<svg", html.Single());
        var evaluation = TestKernel.Html(await Kernel.SucceedAsync(
            "new EfficientML.KeywordSpotting.KeywordEvaluation([\"a\", \"b\"], [0, 0, 1, 1], [0, 1, 1, 1], 0.5)"));
        Assert.Contains("accuracy 75% (3 of 4)", evaluation.Single());
        Assert.Contains("recall of b: 2 of 2", evaluation.Single());
        Assert.DoesNotContain("<svg", evaluation.Single());
        var clip = TestKernel.Html(await Kernel.SucceedAsync("new EfficientML.Audio.AudioClip(new float[1600], 8000)"));
        Assert.Contains("0.20 s at 8000 Hz", clip.Single());                    // not 16 kHz: the waveform alone
        Assert.DoesNotContain("mel band", clip.Single());
        var costs = TestKernel.Html(await Kernel.SucceedAsync(
            "new[] { EfficientML.KeywordSpotting.KeywordSpotterCost.Of(new EfficientML.Reparam.RepCnnConfig { Classes = 4 }) }"));
        Assert.Contains("multiply-accumulates", costs.Single());
    }
}
