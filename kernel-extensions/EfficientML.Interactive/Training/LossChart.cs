using EfficientML.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// Loss curves of one or several <see cref="TrainingRun"/>s on shared axes: training loss per step as a line,
/// validation loss as dashed points, one colour and one legend group per run, so runs can race side by side.
/// </summary>
public static class LossChart
{
    /// <summary>Longest curve drawn; longer runs are thinned evenly (the last step is always kept).</summary>
    public const int MaxPointsPerCurve = 1000;

    /// <summary>A chart of <paramref name="runs"/> (at least one).</summary>
    public static GenericChart Of(params TrainingRun[] runs) => Of(runs, title: null);

    /// <summary>A chart of <paramref name="runs"/> titled <paramref name="title"/> ("Loss" by default).</summary>
    public static GenericChart Of(IEnumerable<TrainingRun> runs, string? title)
    {
        var list = runs.ToList();
        if (list.Count == 0) throw new InvalidSettingsException("A loss chart needs at least one training run.");
        var labels = Labels(list);
        var traces = new List<GenericChart>();
        for (int i = 0; i < list.Count; i++)
        {
            var run = list[i];
            var color = ChartStyle.ColorAt(i);
            var steps = Thin(run.Steps.Where(s => double.IsFinite(s.Loss)).ToList());
            string prefix = list.Count == 1 ? "" : labels[i] + " · ";
            traces.Add(Chart.Line<int, double, string>(
                    steps.Select(s => s.Step), steps.Select(s => s.Loss),
                    Name: prefix + "training", LineColor: color, LineWidth: 1.5, UseDefaults: false)
                .WithTraceInfo(LegendGroup: labels[i]));
            var evaluations = run.Evaluations.Where(e => double.IsFinite(e.ValidationLoss)).ToList();
            if (evaluations.Count > 0)
                traces.Add(Chart.Line<int, double, string>(
                        evaluations.Select(e => e.Step), evaluations.Select(e => e.ValidationLoss),
                        ShowMarkers: true, Name: prefix + "validation", LineColor: color, MarkerColor: color,
                        LineDash: StyleParam.DrawingStyle.Dash, LineWidth: 1.5, UseDefaults: false)
                    .WithTraceInfo(LegendGroup: labels[i]));
        }
        var item = list.Select(r => r.Item).Distinct().Count() == 1 ? list[0].Item : "item";
        return ChartStyle.Apply(Chart.Combine(traces), title ?? "Loss", "step", $"loss (nats per {item})");
    }

    /// <summary>Run names, made unique so legend groups of runs with the same name stay apart.</summary>
    static string[] Labels(List<TrainingRun> runs)
    {
        var labels = new string[runs.Count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < runs.Count; i++)
        {
            var name = string.IsNullOrWhiteSpace(runs[i].Name) ? "run" : runs[i].Name;
            seen[name] = seen.GetValueOrDefault(name) + 1;
            labels[i] = seen[name] == 1 ? name : $"{name} ({seen[name]})";
        }
        return labels;
    }

    static List<TrainingStep> Thin(List<TrainingStep> steps)
    {
        if (steps.Count <= MaxPointsPerCurve) return steps;
        double stride = (steps.Count - 1) / (double)(MaxPointsPerCurve - 1);
        return Enumerable.Range(0, MaxPointsPerCurve).Select(i => steps[(int)Math.Round(i * stride)]).ToList();
    }
}
