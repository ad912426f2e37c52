using EfficientML.Core;

namespace EfficientML.Interactive;

/// <summary>A training run as HTML: its loss chart and one line on how it went (in red when it went wrong).</summary>
static class TrainingRunHtml
{
    public static string Render(TrainingRun run) =>
        $"<div class=\"efml-run\">{Status(run)}{ChartHtml.Fragment(LossChart.Of(run))}</div>";

    /// <summary>Several runs racing: one status line each, then their curves in one chart.</summary>
    public static string Render(IReadOnlyList<TrainingRun> runs, string? title) =>
        $"<div class=\"efml-runs\">{string.Concat(runs.Select(Status))}{ChartHtml.Fragment(LossChart.Of(runs, title))}</div>";

    /// <summary>One line on the run (name, outcome, steps, losses, speed), and its message if it has one.</summary>
    public static string Status(TrainingRun run)
    {
        var steps = run.Steps;
        var parts = new List<string> { $"<b>{Html.Encode(run.Name)}</b>", OutcomeText(run), $"{steps.Count} of {run.Options.Steps} steps" };
        if (run.LastLoss is double loss) parts.Add($"loss {Html.Number(loss)}");
        if (run.LastValidationLoss is double validation)
            parts.Add(run.Item == "token"
                ? $"validation {Html.Number(validation)} nats ({Html.Number(validation / Math.Log(2))} bits) per token"
                : $"validation {Html.Number(validation)} nats per {Html.Encode(run.Item)}");
        if (steps.Count > 0)
            parts.Add($"{run.TokensPerSecond:N0} {Html.Encode(run.Item)}s/s · {run.Elapsed.TotalSeconds:0.0} s");
        var line = string.Join(" · ", parts);
        bool wentWrong = run.Outcome is TrainingOutcome.Diverged or TrainingOutcome.Cancelled;
        var message = run.Message.Length == 0 ? "" :
            $"<div class=\"efml-run-message\" style=\"{Html.BlockStyle};color:{(wentWrong ? "#b00020" : "inherit")};margin-top:4px\">{Html.Encode(run.Message)}</div>";
        return $"<div style=\"{Html.BlockStyle}\">{line}</div>{message}";
    }

    static string OutcomeText(TrainingRun run) => run.Outcome switch
    {
        TrainingOutcome.Running => "running…",
        TrainingOutcome.Completed => "completed",
        TrainingOutcome.Cancelled => "<span style=\"color:#b00020\">cancelled</span>",
        TrainingOutcome.Diverged => "<span style=\"color:#b00020;font-weight:600\">diverged</span>",
        _ => run.Outcome.ToString(),
    };
}
