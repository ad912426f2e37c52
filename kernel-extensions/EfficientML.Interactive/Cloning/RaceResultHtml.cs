using EfficientML.Cloning;
using EfficientML.Core;

namespace EfficientML.Interactive;

/// <summary>A training race as HTML: the summary sentence, steps to the mark for each run and the speed-up, then both curves with the mark.</summary>
static class RaceResultHtml
{
    public const string StartsBelow = "∞ (starts below the mark)";

    public static string Render(RaceResult race)
    {
        string Steps(TrainingRun run, double? steps) => steps switch
        {
            null => run.LastValidationLoss is double last ? $"not reached (ends at {Html.Number(Math.Round(last, 3))})" : "not reached",
            0 => "0 (starts below the mark)",
            double s => Html.Number(Math.Round(s, 1)),
        };
        string StartLoss(TrainingRun run) => run.Evaluations is { Count: > 0 } e ? Html.Number(Math.Round(e[0].ValidationLoss, 3)) : "—";
        string EndLoss(TrainingRun run) => run.LastValidationLoss is double v ? Html.Number(Math.Round(v, 3)) : "—";
        string Row(TrainingRun run, double? steps) =>
            $"<tr><td style=\"{Html.CellStyle}\">{Html.Encode(run.Name)}</td>" +
            $"<td style=\"{Html.NumberCellStyle}\">{StartLoss(run)}</td><td style=\"{Html.NumberCellStyle}\">{EndLoss(run)}</td>" +
            $"<td style=\"{Html.NumberCellStyle}\">{run.Steps.Count}</td><td style=\"{Html.NumberCellStyle}\">{Steps(run, steps)}</td></tr>";
        var speedUp = race.SpeedUp switch
        {
            null => "— (the challenger did not reach the mark)",
            double s when double.IsPositiveInfinity(s) => StartsBelow,
            double s => $"{Html.Number(Math.Round(s, 2))}× fewer steps",
        };
        var mark = race.TargetLoss is double t ? $"{Html.Number(Math.Round(t, 3))} nats ({Html.Number(Math.Round(t / Math.Log(2), 3))} bits) per token" : "—";
        var table =
            $"<table class=\"efml-race\" style=\"{Html.TableStyle};margin-top:6px\">" +
            $"<tr><th style=\"{Html.CellStyle}\">run</th><th style=\"{Html.NumberCellStyle}\">validation loss at step 0 (nats)</th>" +
            $"<th style=\"{Html.NumberCellStyle}\">at the end (nats)</th><th style=\"{Html.NumberCellStyle}\">steps trained</th>" +
            $"<th style=\"{Html.NumberCellStyle}\">steps to the mark</th></tr>" +
            Row(race.Challenger, race.ChallengerSteps) + Row(race.Baseline, race.BaselineSteps) +
            $"<tr><td style=\"{Html.CellStyle};font-weight:600\">speed-up</td>" +
            $"<td class=\"efml-speed-up\" colspan=\"4\" style=\"{Html.NumberCellStyle};font-weight:600\">{speedUp}</td></tr></table>";
        return $"<div class=\"efml-race-result\" style=\"{Html.BlockStyle}\">" +
               $"<div style=\"margin-bottom:4px\"><b>Race</b> · {Html.Encode(race.Summary)}</div>" +
               $"<div>mark: {Html.Encode(race.Baseline.Name)}'s final validation loss, {mark}</div>" +
               table +
               ChartHtml.Fragment(CloningCharts.Race(race)) +
               "</div>";
    }
}
