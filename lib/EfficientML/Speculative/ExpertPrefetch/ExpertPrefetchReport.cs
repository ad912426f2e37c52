using System.Globalization;
using System.Text;
using EfficientML.Core;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>One fast-tier size of <see cref="ExpertPrefetchStudy"/>: every policy on the same trace.</summary>
/// <param name="CacheExperts">Fast-tier size in full experts.</param>
/// <param name="CacheNeurons">The same in neurons.</param>
/// <param name="OnDemand">Load every missing expert when its block asks.</param>
/// <param name="SameAsLayerK">Ahead of time, naming the expert of layer k for every later block (baseline).</param>
/// <param name="SlowState">Ahead of time from the predictor on the slow state.</param>
/// <param name="FastState">Ahead of time from the predictor on M2R2's fast state (null when not traced).</param>
/// <param name="Oracle">Ahead of time with the true experts.</param>
public sealed record ExpertPrefetchRow(int CacheExperts, int CacheNeurons, ExpertCacheResult OnDemand, ExpertCacheResult SameAsLayerK,
    ExpertCacheResult SlowState, ExpertCacheResult? FastState, ExpertCacheResult Oracle)
{
    /// <summary>Every policy of the row, on demand first.</summary>
    public IEnumerable<ExpertCacheResult> Policies =>
        new[] { OnDemand, SameAsLayerK, SlowState, FastState, Oracle }.OfType<ExpertCacheResult>();
}

/// <summary>
/// Everything <see cref="ExpertPrefetchStudy"/> measured: how well each predictor names later blocks' experts, and the
/// modelled hit rate and latency of on-demand and ahead-of-time loading for each fast-tier size.
/// </summary>
/// <param name="Settings">The settings used.</param>
/// <param name="Costs">The time model used.</param>
/// <param name="Traces">The experts used and named over the traced validation text.</param>
/// <param name="Accuracy">Per-block accuracy of each predictor and baseline on that text.</param>
/// <param name="Rows">One per fast-tier size, smallest first.</param>
/// <param name="AcceleratorRun">Training of the accelerators (null when they were given).</param>
/// <param name="SlowPredictorRun">Training of the slow-state predictor.</param>
/// <param name="FastPredictorRun">Training of the fast-state predictor.</param>
public sealed record ExpertPrefetchReport(ExpertPrefetchSettings Settings, ExpertLoadCosts Costs, ExpertTraces Traces,
    IReadOnlyList<ExpertPredictionAccuracy> Accuracy, IReadOnlyList<ExpertPrefetchRow> Rows,
    TrainingRun? AcceleratorRun, TrainingRun SlowPredictorRun, TrainingRun? FastPredictorRun)
{
    /// <summary>The largest speed-up over on-demand loading of ahead-of-time loading from the fast state (slow state without one).</summary>
    public double BestSpeedUp => Rows.Max(r => (r.FastState ?? r.SlowState).SpeedUpOver(r.OnDemand));

    /// <summary>Both tables as plain text: prediction accuracy, then hit rate and latency per token for each fast-tier size.</summary>
    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(c, $"Experts named ahead of time from layer {Settings.FromLayer} at θ = {Settings.Theta}, {Traces.Tokens} validation tokens");
        s.AppendLine(c, $"{"predictor",-22} {"exact",7} {"covering",9}   exact per block {Settings.FromLayer}..{Traces.Layers - 1}");
        foreach (var a in Accuracy)
            s.AppendLine(c, $"{a.Name,-22} {a.MeanExact,7:P1} {a.MeanCovering,9:P1}   {string.Join(" ", a.Exact.Select(x => x.ToString("P0", c)))}");
        s.AppendLine();
        s.AppendLine(c, $"Two-tier memory: attention {Costs.AttentionTime:0.#}, MLP {Costs.NeuronTime:0.##}/neuron, load {Costs.LoadTimePerNeuron:0.##}/neuron; hit rate, latency per token, speed-up over on demand");
        var names = Rows[0].Policies.Select(p => p.Policy).ToList();
        s.Append(c, $"{"cache",-12}");
        foreach (var n in names) s.Append(c, $" {Short(n),21}");
        s.AppendLine();
        foreach (var r in Rows)
        {
            s.Append(c, $"{r.CacheExperts + " experts",-12}");
            foreach (var p in r.Policies)
                s.Append(c, $" {p.HitRate,5:P0} {p.LatencyPerToken,8:0} {p.SpeedUpOver(r.OnDemand),5:0.00}x");
            s.AppendLine();
        }
        return s.ToString();
    }

    static string Short(string policy) => policy.Length <= 21 ? policy : policy[..21];
}
