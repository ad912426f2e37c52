using EfficientML.Models;
using EfficientML.Pipeline;
using EfficientML.Text;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// The capstone: the pretrained tiny model through the whole deployment pipeline (grow ×2, train, draft, route,
/// cluster to 4 bits, decode speculatively, export), with quality, size, memory, compute and decoding speed after every
/// step (speed as a ratio to the starting model's plain decoding, timed alternately in the same measurement), the
/// interactions between the techniques, and the composed model against the pretrained one.
/// Settings: <see cref="PipelineOptions.For"/>.
/// </summary>
public sealed class PipelineSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "pipeline";

    /// <inheritdoc />
    public string Description => "Capstone pipeline: every technique composed on the pretrained model; quality, size, memory, compute and speed after each step";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        using var corpus = TextCorpus.MobyDick();
        using var pretrained = PretrainedModels.LoadTinyMoby();
        using var pipeline = new DeploymentPipeline(pretrained, corpus, PipelineOptions.For(quick));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        pipeline.Run(stage: s => { if (s.Length > 0) log.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {s}"); });
        var rows = new List<Measurement>();
        var start = pipeline.Measurements[0];
        foreach (var m in pipeline.Measurements)
        {
            string step = m.Step == "start" ? "pretrained model" : $"after {m.Step}";
            rows.Add(new($"{step}: validation", m.ValidationBits, "bits/byte", "pretrained", m.ValidationBits / start.ValidationBits,
                $"{m.Summary}; {(m.Invariants.Count == 0 ? "no invariants" : $"invariants {m.Invariants.Count(i => i.Passed)} of {m.Invariants.Count} held")}"));
            rows.Add(new($"{step}: bytes on disk", m.DiskBytes, "bytes", "pretrained", (double)m.DiskBytes / start.DiskBytes, $"{m.Parameters:N0} parameters"));
            rows.Add(new($"{step}: decoding ({m.Decoder})", m.DecodeSpeedUp, "× pretrained plain", Note:
                $"{m.DecodeTokensPerSecond:F0} tokens/s; pretrained plain timed alternately in the same measurement"));
            rows.Add(new($"{step}: MLP multiply-adds per token", m.MlpMultiplyAddsPerToken, "MACs", "pretrained", m.MlpMultiplyAddsPerToken / start.MlpMultiplyAddsPerToken));
            if (m.Step != "start")
                rows.Add(new($"{step}: step cost", m.Seconds, "s", Note: $"{m.TokensTrained:N0} tokens trained; peak resident memory {m.PeakResidentBytes / 1e6:F0} MB"));
            foreach (var i in m.Invariants.Where(i => !i.Passed)) log.WriteLine($"INVARIANT FAILED after {m.Step}: {i.Name}: {i.Detail}");
            foreach (var n in m.Notes) log.WriteLine($"{m.Step}: {n}");
        }
        foreach (var f in pipeline.Interactions.DraftFits)
            rows.Add(new($"draft fit, {f.Question}: {f.Drafter}", f.Agreement, "greedy agreement", Note:
                (f.AcceptanceRate is { } a ? $"acceptance in greedy speculative decoding {a:P1}, same as plain: {f.SameAsPlain}" : "routed target: no cached decoding, agreement only") + $"; target {f.Target}"));
        if (pipeline.Interactions.RoutersUnderClustering is { } r)
        {
            rows.Add(new($"routers under clustering (θ = {r.Theta:0.##}): same expert", r.SameExpertShare, "share of choices", Note:
                $"MLP compute {r.ComputeBefore:P1} → {r.ComputeAfter:P1} of dense"));
            rows.Add(new($"routers under clustering (θ = {r.Theta:0.##}): validation", r.BitsAfter, "bits/byte", "before clustering", r.BitsAfter / r.BitsBefore));
        }
        foreach (var v in pipeline.Interactions.BitWidths)
            rows.Add(new($"clustering recipe at {v.Bits} bits: validation (dense)", v.DenseBits, "bits/byte", "pretrained", v.DenseBits / start.ValidationBits,
                $"{v.PaletteBytes:N0} bytes palettised, {v.BitsPerClusteredWeight:F2} bits per clustered weight{(v.Bits == pipeline.Options.Bits ? "; kept" : "; a copy, for comparison")}"));
        if (pipeline.Interactions.Routing is { } choice)
            foreach (var p in choice.Sweep)
                rows.Add(new($"routing sweep {p.Method}", p.ValidationBits, "bits/byte", "dense", p.ValidationLoss / choice.Dense.ValidationLoss,
                    $"MLP compute {p.ComputeFraction:P1} of dense{(p.Theta == choice.Theta ? "; picked" : "")}"));
        foreach (var line in pipeline.Interactions.Race?.Skip(1) ?? [])
            rows.Add(new($"race on the final target: {line.Method}", line.SpeedUp, "× its plain decoding", Note:
                $"acceptance {line.AcceptanceRate:P1}, {line.MeanAcceptedLength:F2} tokens per pass, same as plain: {line.SameAsPlain}"));
        var card = pipeline.Card();
        log.WriteLine(card);
        rows.Add(new("composed model: validation", card.Final.ValidationBits, "bits/byte", "pretrained", card.Final.ValidationBits / card.Start.ValidationBits, card.Description));
        rows.Add(new("composed model: bytes on disk", card.Final.DiskBytes, "bytes", "pretrained", card.SizeRatio));
        rows.Add(new("composed model: decoding", card.Final.DecodeSpeedUp, "× pretrained plain", Note: $"{card.Final.Decoder}, {card.Final.DecodeTokensPerSecond:F0} tokens/s"));
        rows.Add(new("composed model: invariants held", card.InvariantsPassed, "checks", "checked", (double)card.InvariantsPassed / card.InvariantsChecked));
        rows.Add(new("whole pipeline: time", card.Seconds, "s", Note: $"{card.TokensTrained:N0} tokens trained"));
        return rows;
    }
}
