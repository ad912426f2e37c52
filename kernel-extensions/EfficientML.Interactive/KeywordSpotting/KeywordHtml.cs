using EfficientML.Audio;
using EfficientML.Reparam;
using EfficientML.KeywordSpotting;

namespace EfficientML.Interactive;

/// <summary>
/// Keyword spotting's values as HTML: a keyword dataset as its summary and one sample per class; a stream as audio with its
/// words; evaluations as confusion matrices; results, costs and latencies as tables; folded kernels as heat maps.
/// </summary>
static class KeywordHtml
{
    public static string Render(KeywordDataset dataset)
    {
        var firstOfEachClass = dataset.Train.Clips.Select((clip, index) => (clip, index)).DistinctBy(p => p.clip.Label).OrderBy(p => p.clip.Label);
        var samples = firstOfEachClass
            .Select(p =>
            {
                var (clip, label) = (p.clip, dataset.Labels[p.clip.Label]);
                var audio = dataset.Train.Audio(p.index);
                var what = clip.Label < dataset.Options.Keywords.Count || clip.Word.Length == 0 ? label : $"{label} ({clip.Word})";
                var detail = clip.Word.Length == 0 ? "noise only" : $"{clip.Speaker}, {(clip.Noisy ? $"{Format.Fixed(clip.SnrDb, 0)} dB SNR" : "clean")}{(clip.Telephone ? ", 4 kHz" : "")}" +
                    (clip.Warp != 1 ? $", warp ×{Format.Fixed(clip.Warp, 2)}" : "") + (clip.Tempo != 1 ? $", tempo ×{Format.Fixed(clip.Tempo, 2)}" : "") +
                    (clip.ReverbSeconds > 0 ? $", room {Format.Fixed(clip.ReverbSeconds, 2)} s" : "");
                return ($"{what} · {detail}", audio, dataset.Options.SampleRate, AudioHtml.LogMelOf(audio, dataset.Options.SampleRate));
            });
        return $"<div style=\"{Html.BlockStyle}\"><div style=\"margin-bottom:6px\"><b>{Html.Encode(dataset.ToString())}</b>" +
               $" · built in {Format.Fixed(dataset.BuildTime.TotalSeconds, 1)} s</div>" +
               KeywordCharts.DatasetSummary(dataset.ClassCounts, dataset.VoicesBySplit, dataset.Snrs) +
               "<div style=\"margin:8px 0 4px\"><b>One training clip per class</b></div>" +
               AudioCharts.AudioGallery(samples, columns: 4) + "</div>";
    }

    public static string Render(KeywordStream stream)
    {
        var events = string.Join(", ", stream.Events.Take(40).Select(e => $"{e.Word} {Format.Fixed(e.Start, 1)}–{Format.Fixed(e.End, 1)} s"));
        return $"<div style=\"{Html.BlockStyle}\">" +
               AudioHtml.View(stream.Samples, stream.SampleRate, $"{stream.Events.Count} words in {stream.Seconds.ToString("0.#", Html.Invariant)} s") +
               $"<div style=\"margin-top:4px\"><b>words</b>: {Html.Encode(events)}{(stream.Events.Count > 40 ? " …" : "")}</div></div>";
    }

    public static string Render(KeywordEvaluation evaluation) =>
        ChartHtml.Fragment(KeywordCharts.ConfusionMatrix(evaluation.Confusion, evaluation.Labels, $"Loss {evaluation.Loss.ToString("0.###", Html.Invariant)} nats"));

    public static string Render(KeywordSpotterResult result) =>
        Render([result]) + ChartHtml.Fragment(KeywordCharts.ConfusionMatrix(result.Test.Confusion, result.Test.Labels, $"{result.Name}, synthetic test"));

    /// <summary>
    /// Results side by side: on the synthetic test and on the real voice, accuracy beside balanced accuracy (mean recall over
    /// the classes present), keyword recall and unknown rejection, with what always answering "unknown" would score.
    /// </summary>
    public static string Render(IEnumerable<KeywordSpotterResult> results)
    {
        var list = results.ToList();
        var header = Html.Header("model", "synthetic test: accuracy", "balanced", "real voice as recorded: accuracy", "balanced", "keywords found",
            "unknown rejected", "calibrated: unknown bias", "balanced", "keywords found", "unknown rejected",
            "real voice, varied: accuracy", "balanced", "validation loss", "steps", "training time", "parameters (deployed)",
            "MACs per second of audio", "peak activations");
        var rows = list.Select(r => Html.NumberRow(Html.Encode(r.Name), Html.Percent(r.Test.Accuracy), Html.Percent(r.Test.BalancedAccuracy),
            Html.Percent(r.RealOriginalAccuracy), Html.Percent(r.RealOriginal.BalancedAccuracy), Html.Percent(r.RealOriginal.KeywordRecall),
            Html.Percent(r.RealOriginal.UnknownRejection),
            r.Calibration is { } c ? Html.Number(Math.Round(c.Bias, 2)) : "—",
            r.RealOriginalCalibrated is { } calibrated ? Html.Percent(calibrated.BalancedAccuracy) : "—",
            r.RealOriginalCalibrated is { } k ? Html.Percent(k.KeywordRecall) : "—",
            r.RealOriginalCalibrated is { } u ? Html.Percent(u.UnknownRejection) : "—",
            Html.Percent(r.RealVariationAccuracy), Html.Percent(r.RealVariations.BalancedAccuracy),
            r.Run.LastValidationLoss is double v ? Html.Number(Math.Round(v, 3)) : "—",
            Html.Count(r.Run.Steps.Count), $"{Format.Fixed(r.Run.Elapsed.TotalSeconds, 0)} s",
            Html.Count(r.Cost.Parameters), Html.Count(r.Cost.Macs), Html.Bytes(r.Cost.PeakActivationBytes)));
        var baseline = list.Count == 0 ? "" : AlwaysUnknown(list[0].RealOriginal);
        return $"<table style=\"{Html.TableStyle}\">{header}{string.Concat(rows)}</table>{baseline}";
    }

    /// <summary>What always answering "unknown" would score on <paramref name="evaluation"/>'s clips, as a note under a table.</summary>
    static string AlwaysUnknown(KeywordEvaluation evaluation)
    {
        if (evaluation.UnknownClass < 0 || evaluation.Truth.Length == 0) return "";
        int classes = evaluation.Truth.Distinct().Count();
        return $"<div style=\"color:#666\">On the real voice as recorded, always answering “unknown” scores {Html.Percent(evaluation.AlwaysUnknownAccuracy)} accuracy " +
               $"({evaluation.Truth.Count(t => t == evaluation.UnknownClass)} of {evaluation.Truth.Length} recordings are not keywords), but a balanced accuracy of only " +
               $"{Html.Percent(1.0 / classes)} ({classes} classes present) and finds no keyword: read the balanced accuracy and the keywords found. " +
               "<i>Calibrated</i>: the unknown logit gets the bias at which keyword recall and unknown rejection are equal on the synthetic validation set, fitted there and applied unchanged to the real voice.</div>";
    }

    public static string Render(IEnumerable<DeployLatency> latencies)
    {
        var list = latencies.ToList();
        var folded = list.FirstOrDefault(l => l.Name.StartsWith("RepCNN folded (TorchSharp)", StringComparison.Ordinal))?.Milliseconds;
        var header = Html.Header("runs on one second of audio (batch 1)", "median ms", "× folded TorchSharp", "parameters", "MACs", "peak activations");
        var rows = list.Select(l => Html.NumberRow(Html.Encode(l.Name), Html.Number(Math.Round(l.Milliseconds, 3)),
            folded is double f ? Html.Number(Math.Round(l.Milliseconds / f, 2)) : "—",
            l.Cost.Parameters > 0 ? Html.Count(l.Cost.Parameters) : "—", l.Cost.Macs > 0 ? Html.Count(l.Cost.Macs) : "—",
            l.Cost.PeakActivationBytes > 0 ? Html.Bytes(l.Cost.PeakActivationBytes) : "—"));
        return $"<table style=\"{Html.TableStyle}\">{header}{string.Concat(rows)}</table>" +
               "<div style=\"font-size:12px;color:#555;margin-top:3px\">Peak activations: the largest sum of tensors alive at once for one window, " +
               "4 bytes each (weights not counted), from the model's shapes.</div>";
    }

    public static string Render(ModelCost cost) => Render([cost]);

    public static string Render(IEnumerable<ModelCost> costs)
    {
        var header = Html.Header("model", "parameters", "multiply-accumulates per window", "peak activations", "frames per window");
        var rows = costs.Select(c => Html.NumberRow(Html.Encode(c.Model), Html.Count(c.Parameters), Html.Count(c.Macs), Html.Bytes(c.PeakActivationBytes), Html.Count(c.Frames)));
        return $"<table style=\"{Html.TableStyle}\">{header}{string.Concat(rows)}</table>" +
               "<div style=\"font-size:12px;color:#555;margin-top:3px\">From the model's shapes: convolutions and the classifier counted; " +
               "peak activations = the largest sum of tensors alive at once for one window, 4 bytes each, weights not counted.</div>";
    }

    public static string Render(ReparameterizationReport report) =>
        $"<div style=\"{Html.BlockStyle}\"><b>Re-parameterised</b> · {Html.Encode(report.ToString())}</div>" +
        $"<table style=\"{Html.TableStyle};margin-top:4px\">" + Html.Header("", "multi-branch", "folded") +
        Html.Row("max |Δ logits|", "", $"{report.MaxAbsDifference.ToString("0.0e+0", Html.Invariant)} on logits up to " +
            $"{report.LogitScale.ToString("0.0#", Html.Invariant)}: {report.RelativeDifference.ToString("0.0e+0", Html.Invariant)} of their scale " +
            (report.Same ? "✓ ≤ 1e-5" : "✗ above 1e-5")) +
        Html.Row("parameters", Html.Count(report.ParametersBefore), Html.Count(report.ParametersAfter)) +
        Html.Row($"median ms per call, input {Html.Shape(report.InputShape)}", Html.Number(Math.Round(report.MillisecondsBefore, 3)),
            $"{Html.Number(Math.Round(report.MillisecondsAfter, 3))} ({Html.Number(Math.Round(report.SpeedUp, 2))}× faster)") +
        "</table>";

    public static string Render(RepBranchKernels kernels) => Kernels(kernels, output: 0);

    /// <summary>The branches of one output channel and their sum, as heat maps (input channels × taps).</summary>
    public static string Kernels(RepBranchKernels kernels, int output, string? title = null) =>
        ChartHtml.Fragment(KernelChart(kernels, output, title));

    /// <summary>The chart of <see cref="Kernels"/>.</summary>
    public static Plotly.NET.GenericChart KernelChart(RepBranchKernels kernels, int output, string? title = null)
    {
        var panels = kernels.Branches.Append(kernels.Folded).Select(k => (Title: k.Name, Values: Matrix(k, output))).ToList();
        return KeywordCharts.KernelPanels(panels, title ?? $"Output channel {output}: the branches' folded kernels and their sum",
            "input channel", "tap", asSum: true);
    }

    static float[,] Matrix(BranchKernel kernel, int output)
    {
        var m = new float[kernel.InPerGroup, kernel.KernelSize];
        for (int i = 0; i < kernel.InPerGroup; i++)
            for (int t = 0; t < kernel.KernelSize; t++) m[i, t] = kernel.At(output, i, t);
        return m;
    }
}
