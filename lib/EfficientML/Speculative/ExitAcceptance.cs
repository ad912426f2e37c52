using System.Text;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Speculative;

/// <summary>
/// Per-draft acceptance of a self-drafter at one exit k of one target: the share of validation positions where the draft's
/// top token (the shared head on the layer-k state) equals the target's, the prefix being the text itself. Under greedy
/// decoding that is the chance that a draft is accepted, given that the drafts before it were.
/// </summary>
/// <param name="Target">"×n" or "×n fine-tuned".</param>
/// <param name="WidthFactor">n.</param>
/// <param name="FineTuned">Whether the target was trained after growing.</param>
/// <param name="Exit">k.</param>
/// <param name="EarlyExit">Plain early exit: the head on the slow layer-k state.</param>
/// <param name="M2R2">M2R2's fast state at k with the accelerators the race starts from (for a grown target, the small
/// model's grown with it; null without accelerators).</param>
/// <param name="M2R2Trained">The same after training the accelerators on this target (fine-tuned targets only; else null).</param>
public sealed record ExitAcceptancePoint(string Target, int WidthFactor, bool FineTuned, int Exit, double EarlyExit, double? M2R2, double? M2R2Trained)
{
    /// <summary>Validation batches of 8 × 128 bytes the acceptance is measured on.</summary>
    public const int Batches = 2;

    /// <summary>"k=2 early exit 41 %, M2R2 63 % → 70 %".</summary>
    public string Summary => $"k={Exit} early exit {EarlyExit:P0}" + (M2R2 is double m ? $", M2R2 {m:P0}" : "") + (M2R2Trained is double t ? $" → {t:P0} trained on the target" : "");

    /// <summary>
    /// Measures <paramref name="exits"/> of <paramref name="target"/> on <paramref name="corpus"/>'s validation text, with
    /// <paramref name="accelerators"/> (optional); with <paramref name="training"/>, then trains those accelerators on the
    /// target (in place, so the race uses them; blocks no longer than the target's context) and measures again.
    /// </summary>
    public static (IReadOnlyList<ExitAcceptancePoint> Points, TrainingRun? Run) Measure(TinyGpt target, string name, int widthFactor, bool fineTuned,
        TextCorpus corpus, IReadOnlyList<int> exits, AcceleratorAdapters? accelerators, TrainingOptions? training, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(corpus);
        var before = LayerAnalysis.Measure(target, corpus, accelerators, Batches);
        IReadOnlyList<LayerProfile>? after = null;
        TrainingRun? run = null;
        if (training is not null && accelerators is not null)
        {
            training = training with { BlockSize = Math.Min(training.BlockSize, target.Config.ContextLength) };
            run = AcceleratorTraining.Train(target, accelerators, corpus, training, new AcceleratorOptions { Exits = exits.ToArray() }, cancellation: cancellation);
            after = LayerAnalysis.Measure(target, corpus, accelerators, Batches);             // measures in eval mode
        }
        var points = exits.Select(k => new ExitAcceptancePoint(name, widthFactor, fineTuned, k, before[k].Agreement, before[k].FastAgreement, after?[k].FastAgreement)).ToList();
        return (points, run);
    }

    /// <summary>A plain-text table: one line per target, one column group per exit.</summary>
    public static string Table(IEnumerable<ExitAcceptancePoint> points)
    {
        var s = new StringBuilder("per-draft acceptance at exit k (top-1 agreement with the target on validation text): early exit / M2R2 [→ trained on the target]\n");
        foreach (var target in points.GroupBy(p => p.Target))
            s.AppendLine($"  {target.Key,-16} " + string.Join("   ", target.OrderBy(p => p.Exit).Select(p =>
                $"k={p.Exit} {p.EarlyExit,5:P1}" + (p.M2R2 is double m ? $" / {m,5:P1}" : "") + (p.M2R2Trained is double t ? $" → {t,5:P1}" : ""))));
        return s.ToString();
    }
}
