using EfficientML.Core;
using EfficientML.Speculative;
using Plotly.NET;
using static EfficientML.Interactive.ColouredText;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Where speculative decoding pays (<see cref="TargetSizeStudy"/>): speed-up over plain cached greedy decoding against the
/// width of a HyperCloned target, one colour per drafter, measured points joined by a solid line and the cost model's
/// prediction beside them (open markers, dotted), a dashed line at 1× (break-even) and a dotted one at the paper's 2.8×.
/// </summary>
public static class TargetSizeCharts
{
    /// <summary>
    /// The chart for the exact-copy targets (or the fine-tuned ones with <paramref name="fineTuned"/>), at fixed draft length
    /// <paramref name="gamma"/>, or at each point's best measured γ (adaptive γ included) when null. Hover shows parameters, γ, acceptance and costs.
    /// </summary>
    public static GenericChart SpeedUp(TargetSizeStudyResult study, bool fineTuned = false, int? gamma = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(study);
        var chosen = study.Points.Where(p => p.FineTuned == fineTuned && (gamma is null || (p.Gamma == gamma && !p.Adaptive))).ToList();
        if (chosen.Count == 0)
            throw new InvalidSettingsException($"The study has no {(fineTuned ? "fine-tuned" : "exact-copy")} targets{(gamma is int g ? $" at γ={g}" : "")}: " +
                $"choose γ among {string.Join(", ", study.Options.Gammas)}{(fineTuned ? " and run it with FineTuneSteps > 0 and a corpus" : "")}.");
        var drafters = chosen.Select(p => p.Drafter).Distinct().ToList();
        var traces = new List<GenericChart>();
        double top = TargetSizeStudyResult.PaperSpeedUp;
        for (int d = 0; d < drafters.Count; d++)
        {
            string color = ChartStyle.Palette[d % ChartStyle.Palette.Count];
            var line = chosen.Where(p => p.Drafter == drafters[d]).GroupBy(p => p.WidthFactor).OrderBy(w => w.Key)
                .Select(w => w.MaxBy(p => p.SpeedUp)!).ToList();
            top = Math.Max(top, line.Max(p => Math.Max(p.SpeedUp, p.PredictedSpeedUp)));
            traces.Add(Trace(drafters[d], $"{drafters[d]} (measured)", color, line.Select(p => (double)p.WidthFactor).ToList(), line.Select(p => p.SpeedUp).ToList(),
                line.Select(p => Tip(p, measured: true)).ToList(), predicted: false));
            // Predicted points a little to the right of the measured ones, so both stay visible where they agree.
            traces.Add(Trace(drafters[d], $"{drafters[d]} (predicted)", color, line.Select(p => p.WidthFactor + 0.12).ToList(), line.Select(p => p.PredictedSpeedUp).ToList(),
                line.Select(p => Tip(p, measured: false)).ToList(), predicted: true));
        }
        string which = fineTuned ? "fine-tuned grown targets" : "grown targets (exact copies of the draft)";
        const int height = 440;
        var chart = ChartStyle.Apply(Chart.Combine(traces),
            title ?? $"Speculative decoding: speed-up over plain cached greedy against target width, {which}{(gamma is int gg ? $", γ={gg}" : ", best γ per point")}",
            "HyperCloning width factor of the target (×1 = the small model)", "speed-up over plain decoding (×)", height);
        PlotParts.Frame(chart, height, bottom: 110, legendGap: 56);
        var widths = chosen.Select(p => p.WidthFactor).Distinct().OrderBy(w => w).ToArray();
        PlotParts.Axis(chart, "xaxis", ("tickmode", "array"), ("tickvals", widths), ("ticktext", widths.Select(w => $"×{w}").ToArray()),
            ("range", new[] { widths[0] - 0.4, widths[^1] + 0.5 }));
        PlotParts.Axis(chart, "yaxis", ("range", new[] { 0, top * 1.12 }));
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("shapes", new object[] { PlotlyShapes.HorizontalLine(1, Ink, "dash", 1), PlotlyShapes.HorizontalLine(TargetSizeStudyResult.PaperSpeedUp, Muted, "dot", 1) });
        layout.SetProperty("annotations", new object[]
        {
            PlotlyShapes.Label("paper", 0, "y", 1, "1× (break-even)", "left", "bottom", Ink, 11),
            PlotlyShapes.Label("paper", 0, "y", TargetSizeStudyResult.PaperSpeedUp, $"{Format.Number(TargetSizeStudyResult.PaperSpeedUp)}× (M2R2 paper)", "left", "bottom", Muted, 11),
        });
        return chart;
    }

    static GenericChart Trace(string group, string name, string color, IReadOnlyList<double> x, IReadOnlyList<double> y, IReadOnlyList<string> tips, bool predicted)
    {
        var trace = Chart.Line<double, double, string>(x, y, ShowMarkers: true, Name: name, ShowLegend: true, UseDefaults: false);
        PlotParts.Traces(trace,
            ("legendgroup", group),
            ("line", new Dictionary<string, object> { ["color"] = color, ["width"] = predicted ? 1.5 : 2.5, ["dash"] = predicted ? "dot" : "solid" }),
            ("marker", new Dictionary<string, object>
            {
                ["color"] = predicted ? "#fff" : color, ["symbol"] = "circle", ["size"] = predicted ? 8 : 9,
                ["line"] = new Dictionary<string, object> { ["color"] = color, ["width"] = predicted ? 2 : 1 },
            }));
        return PlotParts.Hover(trace, tips);
    }

    static string Tip(TargetSizePoint p, bool measured) =>
        $"{p.Drafter} on the {p.Target} target ({Format.Count(p.Parameters)} parameters), γ={p.GammaLabel}<br>" +
        (measured
            ? $"measured {Format.Fixed(p.SpeedUp, 2)}×: {Format.Fixed(p.TokensPerSecond, 1)} vs {Format.Fixed(p.PlainTokensPerSecond, 1)} tokens/s (predicted {Format.Fixed(p.PredictedSpeedUp, 2)}×)"
            : $"predicted {Format.Fixed(p.PredictedSpeedUp, 2)}× (measured {Format.Fixed(p.SpeedUp, 2)}×)") +
        $"<br>acceptance {Format.Percent(p.Acceptance, 1)}, {Format.Fixed(p.TokensPerRound, 2)} tokens per pass (α = {Format.Fixed(p.Alpha, 2)})" +
        $"<br>draft step {Format.Fixed(p.DraftCost, 3)}, verification {Format.Fixed(p.VerifyCost, 2)} plain steps";
}
