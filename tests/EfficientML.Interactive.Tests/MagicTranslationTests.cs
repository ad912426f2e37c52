using EfficientML.Interactive;
using EfficientML.Interactive.Scripting;

namespace EfficientML.Interactive.Tests;

/// <summary>
/// Each magic's C# equivalent (its command class's <see cref="ICSharpEquivalent"/>), as exported scripts use it: the parsed
/// options become the library calls the notebooks show beside the magic, the same variables, and quick mode as the magic
/// follows it; a line the magic would refuse, an option without a translation and an unknown magic are clear errors.
/// </summary>
public class MagicTranslationTests
{
    [Fact]
    public void Every_magic_of_the_extension_has_a_csharp_equivalent()
    {
        Assert.NotEmpty(MagicTranslation.MagicNames);
        foreach (var name in MagicTranslation.MagicNames)
        {
            try { MagicTranslation.ToCSharp(name); }
            catch (MagicException e) { Assert.DoesNotContain("no C# equivalent", e.Message); }
        }
    }

    [Fact]
    public void Environment_shows_the_report() =>
        Assert.Equal("display(EnvironmentReport.Collect());", MagicTranslation.ToCSharp("#!environment"));

    [Fact]
    public void Model_loads_the_pretrained_model_or_creates_one_with_every_size_given()
    {
        Assert.Equal("var tiny = PretrainedModels.LoadTinyMoby();\ndisplay(tiny);", MagicTranslation.ToCSharp("#!model --pretrained --name tiny"));
        Assert.Equal("var m = TinyGpt.Load(\"models/a b.safetensors\");\ndisplay(m);", MagicTranslation.ToCSharp("#!model --from \"models/a b.safetensors\" --name m"));
        var created = MagicTranslation.ToCSharp("#!model --name small --layers 2 --dim 64 --heads 2 --context 128 --seed 1");
        Assert.StartsWith("var small = new TinyGpt(new TinyGptConfig { ", created);
        Assert.Contains("Layers = 2", created);
        Assert.Contains("Dim = 64", created);
        Assert.Contains("MlpDim = 256", created);       // the magic's default: 4 × --dim
        Assert.Contains("ContextLength = 128", created);
        Assert.Contains("}, seed: 1L);\ndisplay(small);", created);
    }

    [Fact]
    public void Train_follows_the_run_and_shortens_it_in_quick_mode()
    {
        var code = MagicTranslation.ToCSharp("#!train --model small --steps 60 --lr 2e-3 --warmup 12 --run smallRun");
        Assert.Equal(
            "var smallRun = LanguageModelTraining.NewRun(small, MobyDickCorpus.Get(), QuickMode.Apply(\"#!train\", new TrainingOptions { Steps = 60, LearningRate = 0.002, WarmupSteps = 12 }, QuickMode.Training, quick), \"small\");\n" +
            "LiveView.Follow(smallRun);\n" +
            "LanguageModelTraining.Train(small, MobyDickCorpus.Get(), smallRun);\n" +
            "smallRun.ThrowIfDiverged();", code);
    }

    [Fact]
    public void Race_makes_follows_and_runs_the_race()
    {
        var code = MagicTranslation.ToCSharp("#!race --challenger a --baseline b --steps 20 --race r");
        Assert.StartsWith("var r = TrainingRace.NewRace(a, b, MobyDickCorpus.Get(), QuickMode.Apply(\"#!race\", new TrainingOptions { Steps = 20", code);
        Assert.Contains("LiveView.Follow(r);\nTrainingRace.Run(a, b, MobyDickCorpus.Get(), r);", code);
    }

    [Fact]
    public void Hyperclone_expands_and_shows_the_report_and_the_weight_tiling() =>
        Assert.Equal(
            "var (big, cloneReport) = HyperCloning.Expand(tiny, 2, new HyperCloneOptions { NoiseSnrDb = 10 });\n" +
            "display(cloneReport);\n" +
            "CloningCharts.WeightTiling(tiny, big, \"blocks.0.mlp.fc.weight\").DisplayAs(\"text/html\");",
            MagicTranslation.ToCSharp("#!hyperclone --model tiny --factor 2 --noise-db 10 --name big"));

    [Fact]
    public void Subclone_samples_its_windows_and_shrinks()
    {
        var code = MagicTranslation.ToCSharp("#!subclone --model tiny --width 64 --layers 4 --name half --report halfReport");
        Assert.Contains("using (var halfWindows = Seeding.Generator(1L))", code);
        Assert.Contains("half = halfResult.Model;", code.Replace("var half", "half"));
        Assert.Contains("Subcloning.Shrink(tiny, new SubcloneOptions { Dim = 64, Layers = 4 }, halfCalibration, halfEvaluation, 1L);", code);
        Assert.EndsWith("var halfReport = halfResult.Report;\ndisplay(halfReport);", code);

        var kept = MagicTranslation.ToCSharp("#!subclone --model tiny --width 64 --keep 0,1,7 --calibration-tokens 8x64");
        Assert.Contains("KeepLayers = [0, 1, 7]", kept);
        Assert.Contains("SampleBatch(Split.Train, 8, 64, ", kept);
    }

    [Fact]
    public void Cluster_fine_tunes_a_copy_with_edkm_storage_and_palettises_it()
    {
        var code = MagicTranslation.ToCSharp("#!cluster --model tiny --bits 3 --tau 1e-5 --steps 16 --edkm --name tiny3 --result r3");
        Assert.StartsWith("var tiny3 = tiny.Copy();\nCompressionResult r3;\n", code);
        Assert.Contains("new SavedTensorStore(new EDkmOptions { ", code);
        Assert.Contains("new ClusteredLayers(tiny3, new DkmOptions { Temperature = 1E-05 }, tiny3Store)", code);   // 3 bits is DkmOptions' default
        Assert.Contains("new DkmOptions { Bits = 4 }", MagicTranslation.ToCSharp("#!cluster --model tiny --bits 4 --name t4"));
        Assert.Contains("ClusteringExperiments.FineTuning(quick: true), quick)", code);
        Assert.Contains("r3 = ClusteringFineTuning.FineTune(tiny3, MobyDickCorpus.Get(), tiny3Layers, tiny3Training, tiny3Run);", code);
        Assert.Contains("tiny3Layers.ApplyHardWeights();", code);
        Assert.EndsWith("tiny3.eval();\ndisplay(r3);", code);
        Assert.Contains("ClusteringFineTuning.PostTraining(c, MobyDickCorpus.Get(), cLayers,", MagicTranslation.ToCSharp("#!cluster --model tiny --bits 2 --no-finetune --name c"));
    }

    [Fact]
    public void Route_converts_fine_tunes_and_measures_at_the_given_thetas()
    {
        var code = MagicTranslation.ToCSharp("#!route --model tiny --steps 12 --thetas 0,0.5,1 --name routed --result study");
        Assert.Contains("routed = RoutedGpt.FromDense(tiny, routedCalibration, routedOptions, routedTraining.Seed);", code);
        Assert.Contains("study = RoutingExperiments.Measure(routed, MobyDickCorpus.Get(), routedOptions, routedTraining, [0, 0.5, 1], ", code);
        Assert.Contains("baseline: null, run: routedRun)!;", code);
        Assert.Contains("baseline: () => RoutedGpt.FromDense(", MagicTranslation.ToCSharp("#!route --model tiny --baseline --name routed"));
    }

    [Fact]
    public void Speculate_trains_m2r2_accelerators_then_decodes()
    {
        var code = MagicTranslation.ToCSharp("#!speculate --model tiny --k 4 --gamma 3 --tokens 160 --prompt \"Call me Ishmael.\" --name s");
        Assert.Contains("var tiny_adapters_k4 = AcceleratorAdapters.For(tiny, 4, ", code);
        Assert.Contains("AcceleratorTraining.Train(tiny, tiny_adapters_k4, MobyDickCorpus.Get(), tiny_adapters_k4Training, new AcceleratorOptions { Exits = [4] }, LiveView.Following());", code);
        Assert.Contains("var s = new SpeculativeDecoder(tiny, new SelfDrafter(4, tiny_adapters_k4))", code);
        Assert.Contains(".Generate(MobyDickCorpus.Get().Tokenizer.Encode(\"Call me Ishmael.\"), new SpeculationOptions { MaxNewTokens = 160, Gamma = 3", code);
        Assert.Contains("new SelfDrafter(2)", MagicTranslation.ToCSharp("#!speculate --model tiny --draft early-exit --k 2 --prompt \"x\""));
        Assert.Contains("new ModelDrafter(small, ", MagicTranslation.ToCSharp("#!speculate --model tiny --draft small --prompt \"x\""));
        Assert.Contains(".Encode(SpeculateCommand.DefaultPrompt(MobyDickCorpus.Get(), tiny.Config.ContextLength))", MagicTranslation.ToCSharp("#!speculate --model tiny --k 4"));
    }

    [Fact]
    public void Keywords_builds_the_dataset_with_the_options_given()
    {
        var code = MagicTranslation.ToCSharp("#!keywords --speakers 24 --seed 7 --name preview");
        Assert.StartsWith("var preview = KeywordDatasetBuilder.Build(new KeywordDatasetOptions { ", code);
        Assert.Contains("TrainSpeakers = 24", code);
        Assert.Contains("Seed = 7", code);
        Assert.EndsWith(");\ndisplay(preview);", code);
    }

    [Fact]
    public void Reparam_folds_a_copy_on_the_features_given() =>
        Assert.Equal(
            "var (folded, reparam) = Reparameterization.FoldCopy(repcnn, ReparamCommand.FeaturesFor(testFeatures, repcnn), 100);\ndisplay(reparam);",
            MagicTranslation.ToCSharp("#!reparam --model repcnn --features testFeatures --name folded --result reparam"));

    [Theory]
    [InlineData("#!nosuchmagic --x 1", "#!nosuchmagic is not a magic of this extension")]
    [InlineData("#!hyperclone --model tiny", "#!hyperclone needs --factor N")]
    [InlineData("#!model --pretrained --name tiny --layers 2", "describe a new model")]
    [InlineData("#!train --model m --steps", "--steps")]
    [InlineData("#!route --model tiny --text \"Call me\"", "#!route --text: no C# translation for this option in scripts yet")]
    [InlineData("#!reparam --model m --block 1", "#!reparam --block: no C# translation")]
    public void A_line_without_a_translation_is_one_clear_error(string line, string expected)
    {
        var e = Assert.Throws<MagicException>(() => MagicTranslation.ToCSharp(line));
        Assert.Contains(expected, e.Message);
    }
}
