using EfficientML.Speculative;

namespace EfficientML.Interactive;

/// <summary>
/// A <see cref="TargetSizeStudyResult"/> as HTML: the speed-up chart for the exact-copy targets (and for the fine-tuned
/// ones when the study has them), where each drafter crosses 1×, and one table row per target × drafter × γ.
/// </summary>
static class TargetSizeHtml
{
    public static string Render(TargetSizeStudyResult study)
    {
        if (study.Points.Count == 0) return $"<div style=\"{Html.BlockStyle}\">The study measured no points.</div>";
        var charts = study.Points.Select(p => p.FineTuned).Distinct().OrderBy(t => t).Select(t => ChartHtml.Fragment(TargetSizeCharts.SpeedUp(study, t)));
        var crossings = study.Drafters.SelectMany(d => study.Points.Select(p => p.FineTuned).Distinct().OrderBy(t => t).Select(t =>
            $"<li>{Html.Encode(d)}{(t ? ", fine-tuned targets" : "")}: {(study.CrossesOneAt(d, t) is int n ? $"pays from width ×{n}" : "never pays at the widths measured")}</li>"));
        var best = study.Best;
        string summary = $"<div class=\"efml-target-size-summary\" style=\"margin:6px 0\">Best: <b>{Format.Fixed(best.SpeedUp, 2)}×</b> ({Html.Encode(best.Drafter)}, {Html.Encode(best.Target)} target, γ={Html.Encode(best.GammaLabel)}); " +
                         $"the M2R2 paper reports {Format.Number(TargetSizeStudyResult.PaperSpeedUp)}×. Every speculative output equalled plain greedy decoding of its target.<ul style=\"margin:4px 0\">{string.Concat(crossings)}</ul></div>";
        string exits = study.ExitAcceptance is { Count: > 0 } e ? ExitTable(e) : "";
        return $"<div class=\"efml-target-size\" style=\"{Html.BlockStyle}\">{string.Concat(charts)}{summary}{Table(study.Points)}{exits}</div>";
    }

    public static string Table(IEnumerable<TargetSizePoint> points)
    {
        string Head(string text, bool number = true) => $"<th style=\"{(number ? Html.NumberCellStyle : Html.CellStyle)}\">{text}</th>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        string Text(string text) => $"<td style=\"{Html.CellStyle};white-space:nowrap\">{Html.Encode(text)}</td>";
        var rows = points.Select(p => "<tr>" + Text(p.Target) + Cell(Format.Count(p.Parameters)) + Text(p.Drafter) + $"<td style=\"{Html.NumberCellStyle};white-space:nowrap\">{Html.Encode(p.GammaLabel)}</td>" +
            Cell(Format.Fixed(p.PlainTokensPerSecond, 1)) + Cell(Format.Fixed(p.TokensPerSecond, 1)) +
            Cell(p.SpeedUp >= 1 ? $"<b>{Format.Fixed(p.SpeedUp, 2)}×</b>" : $"{Format.Fixed(p.SpeedUp, 2)}×") + Cell($"{Format.Fixed(p.PredictedSpeedUp, 2)}×") +
            Cell(Format.Percent(p.Acceptance)) + Cell(Format.Fixed(p.TokensPerRound, 2)) + Cell(Format.Fixed(p.DraftCost, 3)) + Cell(Format.Fixed(p.VerifyCost, 2)) + "</tr>");
        return $"<table class=\"efml-target-size-table\" style=\"{Html.TableStyle};margin-top:4px\"><tr>" +
               Head("target", number: false) + Head("parameters") + Head("drafter", number: false) + Head("γ") + Head("plain<br>tokens/s") + Head("speculative<br>tokens/s") +
               Head("speed-up<br>measured") + Head("speed-up<br>predicted") + Head("drafts<br>accepted") + Head("tokens<br>per pass") +
               Head("draft step<br>(plain steps)") + Head("verification<br>(plain steps)") + "</tr>" + string.Concat(rows) + "</table>";
    }

    /// <summary>Per-draft acceptance at each exit k: one row per target, early exit and M2R2 (and M2R2 trained on the target) per k.</summary>
    public static string ExitTable(IReadOnlyList<ExitAcceptancePoint> points)
    {
        var exits = points.Select(p => p.Exit).Distinct().Order().ToList();
        bool m2r2 = points.Any(p => p.M2R2 is not null), trained = points.Any(p => p.M2R2Trained is not null);
        string Head(string text) => $"<th style=\"{Html.NumberCellStyle}\">{text}</th>";
        string Cell(double? value) => $"<td style=\"{Html.NumberCellStyle}\">{(value is double v ? Format.Percent(v) : "–")}</td>";
        var header = $"<th style=\"{Html.CellStyle}\">target</th>" + string.Concat(exits.Select(k =>
            Head($"k={k}<br>early exit") + (m2r2 ? Head($"k={k}<br>M2R2") : "") + (trained ? Head($"k={k}<br>M2R2 trained<br>on the target") : "")));
        var rows = points.GroupBy(p => p.Target).Select(g => $"<tr><td style=\"{Html.CellStyle};white-space:nowrap\">{Html.Encode(g.Key)}</td>" + string.Concat(exits.Select(k =>
        {
            var p = g.FirstOrDefault(x => x.Exit == k);
            return Cell(p?.EarlyExit) + (m2r2 ? Cell(p?.M2R2) : "") + (trained ? Cell(p?.M2R2Trained) : "");
        })) + "</tr>");
        return $"<div style=\"margin:10px 0 2px\">Per-draft acceptance at each exit k: the share of validation positions where the draft's top token equals the target's " +
               $"(for a grown target, M2R2 uses the small model's accelerators grown with it; a fine-tuned target's are then trained on it).</div>" +
               $"<table class=\"efml-exit-acceptance\" style=\"{Html.TableStyle}\"><tr>{header}</tr>{string.Concat(rows)}</table>";
    }
}
