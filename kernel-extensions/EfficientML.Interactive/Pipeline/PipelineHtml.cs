using System.Text;
using EfficientML.Pipeline;
using EfficientML.Routing;
using EfficientML.Speculative;

namespace EfficientML.Interactive;

/// <summary>
/// A deployment pipeline as HTML: the per-step table (quality, size, memory, compute, speed, cost, invariants), the
/// invariants every step re-checked, how the techniques interacted (draft fits, routers under clustering, the θ sweep, the
/// decode race) and the composed model's card. Unknown figures show as "—".
/// </summary>
static class PipelineHtml
{
    const string Pass = "<span style=\"color:#1b7f2a;font-weight:600\">✓</span>";
    const string Fail = "<span style=\"color:#b00020;font-weight:600\">✗</span>";

    /// <summary>A whole pipeline: the Pareto chart, the bytes chart, the per-step table, the invariants, the interactions and the card.</summary>
    public static string Render(DeploymentPipeline pipeline)
    {
        var measurements = pipeline.Measurements.ToList();
        var html = new StringBuilder($"<div class=\"efml-pipeline\" style=\"{Html.BlockStyle}\">");
        html.Append($"<div style=\"margin-bottom:4px\">{Headline(pipeline)}</div>");
        if (measurements.Count == 0)
            return html.Append("<div>Nothing measured yet: run a step (<code>pipeline.Run()</code> or <code>#!pipeline --resume</code>).</div></div>").ToString();
        html.Append(Measurements(measurements));
        html.Append(Section("Invariants re-checked on the composed model", Invariants(measurements)));
        html.Append(Interactions(pipeline.Interactions));
        html.Append(Card(pipeline.Card()));
        return html.Append("</div>").ToString();
    }

    /// <summary>One line: the steps run, and those left.</summary>
    static string Headline(DeploymentPipeline pipeline)
    {
        var done = pipeline.State.Done;
        var left = pipeline.Remaining;
        return "<b>Deployment pipeline</b> · " +
               (done.Count == 0 ? "no step run yet" : $"steps run: {Html.Encode(string.Join(" → ", done))}") +
               (left.Count == 0 ? " · every step has run" : $" · not run: {Html.Encode(string.Join(", ", left))}");
    }

    /// <summary>The measurements: the Pareto chart, the bytes chart and the per-step table.</summary>
    public static string Measurements(IEnumerable<StepMeasurement> measurements)
    {
        var list = measurements.ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle}\">No step measurements.</div>";
        return $"<div class=\"efml-pipeline-steps\" style=\"{Html.BlockStyle}\">" +
               ChartHtml.Fragment(PipelineCharts.Pareto(list)) +
               Table(list) +
               ChartHtml.Fragment(PipelineCharts.DiskBytes(list)) +
               "</div>";
    }

    /// <summary>One measurement as a one-row table.</summary>
    public static string Render(StepMeasurement measurement) =>
        $"<div class=\"efml-pipeline-step\" style=\"{Html.BlockStyle}\">{Table([measurement])}</div>";

    /// <summary>
    /// One row per measurement: step, bits per byte, Δ vs the first row (the start), bytes on disk, parameters, peak resident
    /// memory, MLP multiply-adds per token, decode tokens/s, speed-up, decoder, step time, tokens trained, invariants; then
    /// each step's notes.
    /// </summary>
    public static string Table(IReadOnlyList<StepMeasurement> measurements)
    {
        if (measurements.Count == 0) return "";
        var start = measurements[0];
        string Head(string text, bool number = true) => $"<th style=\"{(number ? Html.NumberCellStyle : Html.CellStyle)};font-weight:600\">{text}</th>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var rows = new StringBuilder();
        foreach (var m in measurements)
        {
            rows.Append($"<tr><td style=\"{Html.CellStyle};white-space:nowrap\" title=\"{Html.Encode(m.Summary)}\"><b>{Html.Encode(m.Step)}</b></td>");
            rows.Append(Cell(Bits(m.ValidationBits)));
            rows.Append(Cell(ReferenceEquals(m, start) ? "—" : PipelineCharts.Signed(m.ValidationBits - start.ValidationBits)));
            rows.Append(Cell(Html.Bytes(m.DiskBytes)));
            rows.Append(Cell(Html.Count(m.Parameters)));
            rows.Append(Cell(m.PeakResidentBytes > 0 ? Html.Bytes(m.PeakResidentBytes) : "—"));
            rows.Append(Cell(Whole(m.MlpMultiplyAddsPerToken)));
            rows.Append(Cell(Whole(m.DecodeTokensPerSecond)));
            rows.Append(Cell(Times(m.DecodeSpeedUp)));
            rows.Append($"<td style=\"{Html.CellStyle}\">{Html.Encode(m.Decoder)}</td>");
            rows.Append(Cell(ReferenceEquals(m, start) && m.Seconds == 0 ? "—" : PipelineCharts.Seconds(m.Seconds)));
            rows.Append(Cell(Html.Count(m.TokensTrained)));
            rows.Append(Cell(Verdict(m.Invariants)));
            rows.Append("</tr>");
        }
        var notes = measurements.Where(m => m.Notes.Count > 0).ToList();
        var notesHtml = notes.Count == 0 ? "" :
            "<ul class=\"efml-pipeline-notes\" style=\"margin:4px 0 0 0;padding-left:20px;color:#555\">" +
            string.Concat(notes.SelectMany(m => m.Notes.Select(n => $"<li><b>{Html.Encode(m.Step)}</b>: {Html.Encode(n)}</li>"))) + "</ul>";
        return $"<table class=\"efml-pipeline-table\" style=\"{Html.TableStyle};margin-top:4px\">" +
               "<tr>" + Head("step", number: false) + Head("bits/byte") + Head("Δ vs start") + Head("bytes on disk") + Head("parameters") +
               Head("peak RSS") + Head("MLP multiply-adds<br/>per token") + Head("decode<br/>tokens/s") + Head("speed-up") + Head("decoder", number: false) +
               Head("step time") + Head("tokens<br/>trained") + Head("invariants") + "</tr>" +
               rows + "</table>" + notesHtml;
    }

    /// <summary>Every invariant of every measurement: step, check, pass or fail, the figure behind it.</summary>
    public static string Invariants(IReadOnlyList<StepMeasurement> measurements)
    {
        var checks = measurements.SelectMany(m => m.Invariants.Select(i => ((string?)m.Step, Check: i))).ToList();
        if (checks.Count == 0) return $"<div style=\"{Html.BlockStyle};color:#555\">No invariants checked yet.</div>";
        return InvariantTable(checks);
    }

    /// <summary>A list of checks (e.g. one measurement's <see cref="StepMeasurement.Invariants"/>) as a table.</summary>
    public static string Invariants(IEnumerable<InvariantCheck> checks)
    {
        var list = checks.ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle};color:#555\">No invariants.</div>";
        return $"<div style=\"{Html.BlockStyle}\">{InvariantTable(list.Select(c => ((string?)null, c)).ToList())}</div>";
    }

    static string InvariantTable(IReadOnlyList<(string? Step, InvariantCheck Check)> checks)
    {
        bool steps = checks.Any(c => c.Step is not null);
        var rows = checks.Select(c =>
            "<tr>" + (steps ? $"<td style=\"{Html.CellStyle}\"><b>{Html.Encode(c.Step)}</b></td>" : "") +
            $"<td style=\"{Html.CellStyle}\">{Html.Encode(c.Check.Name)}</td>" +
            $"<td style=\"{Html.CellStyle};white-space:nowrap\">{(c.Check.Passed ? Pass + " pass" : Fail + " fail")}</td>" +
            $"<td style=\"{Html.CellStyle}\">{Html.Encode(c.Check.Detail)}</td></tr>");
        int passed = checks.Count(c => c.Check.Passed);
        return $"<table class=\"efml-pipeline-invariants\" style=\"{Html.TableStyle};margin-top:4px\">" +
               (steps ? Html.Header("step", "check", "verdict", "detail") : Html.Header("check", "verdict", "detail")) +
               string.Concat(rows) + "</table>" +
               $"<div style=\"margin-top:2px;color:{(passed == checks.Count ? "#1b7f2a" : "#b00020")}\">{passed} of {checks.Count} held.</div>";
    }

    /// <summary>How the techniques interacted: draft fits, routers under clustering, the θ sweep and the decode race (each where measured).</summary>
    public static string Interactions(PipelineInteractions interactions)
    {
        var html = new StringBuilder($"<div class=\"efml-pipeline-interactions\" style=\"{Html.BlockStyle}\">");
        html.Append(Section("How well each draft fits its target", DraftFits(interactions.DraftFits)));
        if (interactions.Routing is { } routing) html.Append(Section("Routing: the θ sweep and the operating point picked", RoutingSweep(routing)));
        if (interactions.RoutersUnderClustering is { } clustered) html.Append(Section("Routers under clustering", Routers(clustered)));
        if (interactions.BitWidths is { Count: > 0 } widths) html.Append(Section("The clustering recipe at each bit width (dense, θ = 1)", BitWidths(widths)));
        if (interactions.Race is { Count: > 0 } race) html.Append(Section("The decode race on the final target", Race(race)));
        return html.Append("</div>").ToString();
    }

    /// <summary>Each draft against each target: question, drafter, target, agreement, acceptance, same text as plain decoding.</summary>
    public static string DraftFits(IEnumerable<DraftFit> fits)
    {
        var list = fits.ToList();
        if (list.Count == 0) return "<div style=\"color:#555\">No draft measured yet (the train step measures the start model as a draft for a grown model; the draft step makes one).</div>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var rows = list.Select(f =>
            $"<tr><td style=\"{Html.CellStyle}\">{Html.Encode(f.Question)}</td><td style=\"{Html.CellStyle}\">{Html.Encode(f.Drafter)}</td>" +
            $"<td style=\"{Html.CellStyle}\">{Html.Encode(f.Target)}</td>" +
            Cell(Format.Percent(f.Agreement)) + Cell(f.AcceptanceRate is double a ? Format.Percent(a) : "—") + Cell(Same(f.SameAsPlain)) + "</tr>");
        return $"<table class=\"efml-pipeline-drafts\" style=\"{Html.TableStyle};margin-top:4px\">" +
               Html.Header("question", "drafter", "target", "greedy agreement", "acceptance", "same as plain") + string.Concat(rows) + "</table>";
    }

    /// <summary>One row per bit width: the clustered model's bits per byte run dense, the palettised bytes and the storage per clustered weight.</summary>
    public static string BitWidths(IEnumerable<BitWidthVariant> variants)
    {
        var rows = variants.Select(v => Html.NumberRow(v.Bits.ToString(System.Globalization.CultureInfo.InvariantCulture), Bits(v.DenseBits),
            Format.Bytes(v.PaletteBytes), Format.Fixed(v.BitsPerClusteredWeight, 2)));
        return $"<table class=\"efml-pipeline-bits\" style=\"{Html.TableStyle}\">" +
               Html.Header("bits", "bits/byte", "bytes on disk", "bits per clustered weight") + string.Concat(rows) + "</table>";
    }

    /// <summary>What each step traded against the step before it: bits per byte, bytes, MLP compute, decoding speed, its cost.</summary>
    public static string Trades(IEnumerable<StepTrade> trades)
    {
        string Times(double ratio) => double.IsFinite(ratio) ? $"×{Format.Fixed(ratio, 2)}" : "—";
        var rows = trades.Select(t => Html.NumberRow($"<b>{Html.Encode(t.Step)}</b>", PipelineCharts.Signed(t.BitsChange), Times(t.BytesRatio),
            Times(t.ComputeRatio), Times(t.SpeedRatio), PipelineCharts.Seconds(t.Seconds), Format.Count(t.TokensTrained)));
        return $"<div style=\"{Html.BlockStyle}\"><table class=\"efml-pipeline-trades\" style=\"{Html.TableStyle}\">" +
               Html.Header("step", "Δ bits/byte", "bytes on disk", "MLP compute", "decoding speed", "step time", "tokens trained") + string.Concat(rows) + "</table></div>";
    }

    /// <summary>The order rules: each step, the step it cannot follow, and why.</summary>
    public static string Rules(IEnumerable<OrderRule> rules)
    {
        var rows = rules.Select(r => Html.Row($"<code>{Html.Encode(r.Step)}</code>", $"<code>{Html.Encode(r.After)}</code>", Html.Encode(r.Why)));
        return $"<div style=\"{Html.BlockStyle}\"><table class=\"efml-pipeline-rules\" style=\"{Html.TableStyle}\">" +
               Html.Header("step", "cannot come after", "because") + string.Concat(rows) + "</table></div>";
    }

    /// <summary>Quality, compute and expert choices of the routed model before and after clustering.</summary>
    public static string Routers(RoutersUnderClustering r) => Html.KeyValueTable(
    [
        ("θ picked", Html.Number(r.Theta)),
        ("validation bits/byte", $"{Bits(r.BitsBefore)} → {Bits(r.BitsAfter)} ({PipelineCharts.Signed(r.BitsAfter - r.BitsBefore)})"),
        ("MLP compute, routers included (share of dense)", $"{Format.Percent(r.ComputeBefore)} → {Format.Percent(r.ComputeAfter)}"),
        ("choices that stayed on the same expert", Format.Percent(r.SameExpertShare)),
    ]);

    /// <summary>The θ sweep (the pick marked) and the dense model, on the same windows.</summary>
    public static string RoutingSweep(RoutingChoice choice)
    {
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        double dense = choice.Dense.ValidationLoss;
        string Row(string label, RoutingPoint p, bool picked) =>
            $"<tr><td style=\"{Html.CellStyle};white-space:nowrap\">{label}</td>" + Cell(Bits(p.ValidationBits)) +
            Cell(dense > 0 ? RoutingPointHtml.Signed(p.ValidationLoss / dense - 1) : "—") + Cell(Format.Percent(p.ComputeFraction)) +
            Cell(picked ? Pass + " picked" : "") + "</tr>";
        var rows = choice.Sweep.OrderBy(p => p.Theta ?? 0).Select(p => Row($"θ = {Html.Number(p.Theta ?? double.NaN)}", p, p.Theta == choice.Theta));
        return $"<div style=\"color:#555\">The cheapest θ whose loss is within {Format.Percent(choice.LossBudget)} of dense is kept (θ = 1, dense, when none is).</div>" +
               $"<table class=\"efml-pipeline-routing\" style=\"{Html.TableStyle};margin-top:4px\">" +
               Html.Header("variant", "bits/byte", "vs dense", "MLP compute (% of dense)", "") + string.Concat(rows) + Row("dense (full width)", choice.Dense, false) + "</table>";
    }

    /// <summary>The decode step's race: plain greedy first, then each drafter.</summary>
    public static string Race(IReadOnlyList<RaceLine> race)
    {
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var rows = race.Select((l, i) =>
            $"<tr><td style=\"{Html.CellStyle}\">{Html.Encode(l.Method)}</td>" + Cell(Whole(l.TokensPerSecond)) + Cell(Times(l.SpeedUp)) +
            Cell(i == 0 ? "—" : Format.Percent(l.AcceptanceRate)) + Cell(i == 0 ? "—" : Format.Number(Math.Round(l.MeanAcceptedLength, 2))) +
            Cell(i == 0 ? "—" : Same(l.SameAsPlain)) + Cell(i == 0 ? "—" : Format.Percent(l.DraftShare)) + "</tr>");
        return $"<table class=\"efml-pipeline-race\" style=\"{Html.TableStyle};margin-top:4px\">" +
               Html.Header("decoder", "tokens/s", "speed-up", "acceptance", "tokens per full pass", "same as plain", "draft's share of time") +
               string.Concat(rows) + "</table>" + ChartHtml.Fragment(SpeculativeCharts.Race(race));
    }

    /// <summary>The composed model's card: what it is, quality, size, compute, speed, cost and invariants against the start.</summary>
    public static string Card(ComposedModelCard card)
    {
        var (start, final) = (card.Start, card.Final);
        bool held = card.InvariantsPassed == card.InvariantsChecked;
        var rows = new List<(string, string)>
        {
            ("what it is", Html.Encode(card.Description)),
            ("quality", $"<b>{Bits(final.ValidationBits)}</b> bits per byte (start {Bits(start.ValidationBits)}, {PipelineCharts.Signed(card.BitsChange)})"),
            ("size", $"<b>{Html.Bytes(final.DiskBytes)}</b> on disk ({Times(card.SizeRatio)} the start), {Html.Count(final.Parameters)} parameters"),
            ("compute", $"<b>{Whole(final.MlpMultiplyAddsPerToken)}</b> MLP multiply-adds per token ({Times(card.ComputeRatio)} the start)"),
            ("speed", $"<b>{Whole(final.DecodeTokensPerSecond)}</b> tokens/s with {Html.Encode(final.Decoder)}, <b>{Times(final.DecodeSpeedUp)}</b> the start's plain decoding"),
            ("cost", $"{PipelineCharts.Seconds(card.Seconds)} and {Html.Count(card.TokensTrained)} training tokens"),
            ("invariants", $"{(held ? Pass : Fail)} {card.InvariantsPassed} of {card.InvariantsChecked} held"),
        };
        return $"<div class=\"efml-pipeline-card\" style=\"{Html.BlockStyle};margin-top:8px;padding:6px 10px;border-left:3px solid #1f77b4\">" +
               "<div style=\"margin-bottom:4px\"><b>Composed model</b></div>" + Html.KeyValueTable(rows) + "</div>";
    }

    static string Section(string title, string body) =>
        $"<div style=\"margin-top:10px\"><div style=\"font-weight:600;margin-bottom:2px\">{Html.Encode(title)}</div>{body}</div>";

    static string Bits(double bits) => double.IsFinite(bits) ? Format.Fixed(bits, 3) : "—";

    static string Whole(double x) => double.IsFinite(x) ? Html.Count((long)Math.Round(x)) : "—";

    static string Times(double ratio) => double.IsFinite(ratio) ? Format.Ratio(ratio) + "×" : "—";

    static string Same(bool? same) => same switch { true => Pass, false => Fail, null => "—" };

    static string Verdict(IReadOnlyList<InvariantCheck> checks) =>
        checks.Count == 0 ? "—" : $"{(checks.All(c => c.Passed) ? Pass : Fail)} {checks.Count(c => c.Passed)}/{checks.Count}";
}
