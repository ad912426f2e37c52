using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Pipeline;
using EfficientML.Routing;
using EfficientML.Speculative;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Tests;

/// <summary>Every step of the pipeline, run once in quick mode on a tiny model, shared by the tests below.</summary>
public sealed class ComposedTinyModel : IDisposable
{
    public static readonly Lazy<TextCorpus> Corpus = new(() => TextCorpus.MobyDick());

    public ComposedTinyModel()
    {
        using var start = TestModels.Random(TestModels.Small(), seed: 11);
        Pipeline = new DeploymentPipeline(start, Corpus.Value, PipelineOptions.For(quick: true) with { CloneNoiseSnrDb = null });
        Pipeline.Measured += m => Seen.Add(m.Step);
        Pipeline.Run();
    }

    public DeploymentPipeline Pipeline { get; }

    public List<string> Seen { get; } = [];

    public void Dispose() => Pipeline.Dispose();
}

[Trait("Category", "Invariant")] // run under every ATen CPU capability in CI (.ci/run)
public sealed class PipelineTests(ComposedTinyModel composed) : IClassFixture<ComposedTinyModel>
{
    readonly DeploymentPipeline _pipeline = composed.Pipeline;

    [Fact]
    public void The_whole_pipeline_runs_every_step_in_order_and_measures_after_each()
    {
        Assert.Equal(["start", .. PipelineSteps.Names], _pipeline.Measurements.Select(m => m.Step));
        Assert.Equal(_pipeline.Measurements.Select(m => m.Step), composed.Seen);
        Assert.Equal(PipelineSteps.Names, _pipeline.State.Done);
        Assert.Empty(_pipeline.Remaining);
        foreach (var m in _pipeline.Measurements)
        {
            Assert.True(double.IsFinite(m.ValidationBits) && m.ValidationBits > 0, $"{m.Step}: {m.ValidationBits}");
            Assert.True(m.DiskBytes > 0 && m.Parameters > 0 && m.DecodeTokensPerSecond > 0 && m.DecodeSpeedUp > 0, m.Step);
            Assert.True(m.MlpMultiplyAddsPerToken > 0, m.Step);
        }
        Assert.All(_pipeline.Measurements.Skip(1), m => Assert.True(m.PeakResidentBytes > 0 && m.Seconds > 0, m.Step));
    }

    [Fact]
    public void Every_invariant_holds_on_the_composed_model()
    {
        var checks = _pipeline.Measurements.SelectMany(m => m.Invariants.Select(i => (m.Step, i))).ToList();
        Assert.True(checks.Count >= 11, $"{checks.Count} checks");
        Assert.All(checks, c => Assert.True(c.i.Passed, $"{c.Step}: {c.i.Name}: {c.i.Detail}"));
        var card = _pipeline.Card();
        Assert.Equal(checks.Count, card.InvariantsChecked);
        Assert.Equal(checks.Count, card.InvariantsPassed);
    }

    [Fact]
    public void The_grown_model_was_exact_before_training_and_the_start_model_drafted_for_it_without_a_miss()
    {
        var grow = _pipeline.Measurements.Single(m => m.Step == "grow");
        Assert.Contains(grow.Invariants, i => i.Name.Contains("same function") && i.Passed);
        Assert.True(grow.StartAgreement >= 0.99, $"{grow.StartAgreement}");
        var before = _pipeline.Interactions.DraftFits.Single(f => f.Question == "grown model, before training");
        Assert.Equal(1.0, before.AcceptanceRate);
        Assert.True(before.SameAsPlain);
        var start = _pipeline.Measurements[0];
        Assert.Equal(start.ValidationBits, grow.ValidationBits, 3);
        Assert.Equal(start.MlpMultiplyAddsPerToken * 4, grow.MlpMultiplyAddsPerToken);   // ×2 width: d and the MLP width both double
    }

    [Fact]
    public void The_palettised_model_has_at_most_k_distinct_values_per_table_and_decodes_to_the_target()
    {
        var palettes = _pipeline.State.Palettized!;
        int k = 1 << _pipeline.Options.Bits;
        Assert.NotEmpty(palettes.Palettes);
        foreach (var (name, palette) in palettes.Palettes)
        {
            using var weight = palettes.Weight(name);
            using var distinct = weight.unique().output;
            Assert.True(distinct.numel() <= k, $"{name}: {distinct.numel()} values");
        }
        using var decoded = palettes.ToTinyGpt();
        using var _ = no_grad();
        var tokens = TestModels.Tokens(5, 40);
        Assert.True(TestModels.Same(decoded.Forward(tokens), _pipeline.State.Target.Forward(tokens)));
        Assert.True(_pipeline.Measurements[^1].DiskBytes < _pipeline.Measurements.Single(m => m.Step == "route").DiskBytes);
    }

    [Fact]
    public void Theta_one_of_the_composed_routed_model_equals_its_dense_weights()
    {
        var routed = _pipeline.State.Routed!;
        using var _ = no_grad();
        var tokens = TestModels.Tokens(6, 40);
        using var atOne = routed.Run(tokens, ExpertChoice.AtTheta(1));
        Assert.True(TestModels.Same(atOne.Logits, _pipeline.State.Target.Forward(tokens)));
        var choice = _pipeline.Interactions.Routing!;
        Assert.Equal(choice.Theta, _pipeline.State.Theta);
        Assert.Contains(choice.Sweep, p => p.Theta == choice.Theta);
        Assert.True(choice.Sweep.Single(p => p.Theta == choice.Theta).ValidationLoss <= choice.Dense.ValidationLoss * (1 + choice.LossBudget));
    }

    [Fact]
    public void Speculative_decoding_of_the_composed_model_equals_plain_greedy_decoding()
    {
        var race = _pipeline.Interactions.Race!;
        Assert.Equal(["plain greedy (KV cache)", "M2R2 (k=1)", "draft model", "start model as draft"], race.Select(l => l.Method));
        Assert.All(race, line => Assert.True(line.SameAsPlain, line.Method));
        var state = _pipeline.State;
        var prompt = Corpus.Tokenizer.Encode("Call me Ishmael. Some years ago");
        var plain = state.Target.Generate(prompt, new GenerationOptions { MaxNewTokens = 30 });
        foreach (var drafter in new Drafter[] { new SelfDrafter(state.ExitLayer!.Value, state.Adapters), new ModelDrafter(state.Draft!), new ModelDrafter(state.Start) })
            Assert.Equal(plain, new SpeculativeDecoder(state.Target, drafter).Generate(prompt, new SpeculationOptions { MaxNewTokens = 30, Gamma = 3 }).Tokens);
    }

    [Fact]
    public void Clustering_after_routing_reports_how_the_routers_choices_moved()
    {
        var r = _pipeline.Interactions.RoutersUnderClustering!;
        Assert.Equal(_pipeline.State.Theta, r.Theta);
        Assert.InRange(r.SameExpertShare, 0, 1);
        Assert.True(double.IsFinite(r.BitsBefore) && double.IsFinite(r.BitsAfter));
        Assert.Contains(_pipeline.Interactions.DraftFits, f => f.Question == "target after clustering");
    }

    [Fact]
    public void The_export_step_writes_an_onnx_file_that_matches_the_target()
    {
        var export = _pipeline.Measurements[^1];
        Assert.Equal("export", export.Step);
        Assert.True(File.Exists(_pipeline.State.OnnxPath));
        Assert.All(export.Invariants, i => Assert.True(i.Passed, i.Detail));
        Assert.Contains(export.Notes, n => n.Contains("routers are not exported"));
    }

    [Fact]
    public void The_card_compares_the_composed_model_with_the_start()
    {
        var card = _pipeline.Card();
        var text = card.ToString();
        foreach (var part in new[] { "grown", "routed", "palettised", "ONNX", "bits per byte", "bytes on disk", "tokens/s" })
            Assert.Contains(part, text);
        Assert.Equal(_pipeline.Measurements[0], card.Start);
        Assert.Equal(_pipeline.Measurements[^1], card.Final);
        Assert.Equal(_pipeline.Measurements.Sum(m => m.TokensTrained), card.TokensTrained);
    }

    [Fact]
    public void Each_trade_is_a_step_against_the_step_before_it()
    {
        var trades = StepTrade.Between(_pipeline.Measurements);
        Assert.Equal(PipelineSteps.Names, trades.Select(t => t.Step));
        var grow = trades[0];
        Assert.Equal(4, grow.ComputeRatio, 6);
        var m = _pipeline.Measurements;
        Assert.Equal(m[^1].ValidationBits - m[0].ValidationBits, trades.Sum(t => t.BitsChange), 9);
        Assert.Equal((double)m[^1].DiskBytes / m[0].DiskBytes, trades.Aggregate(1.0, (p, t) => p * t.BytesRatio), 9);
    }

    static TextCorpus Corpus => ComposedTinyModel.Corpus.Value;
}
