namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>
/// What one policy of <see cref="ExpertCacheSimulation"/> cost over a sequence of decoded tokens. A request is one token's
/// expert in one layer; it hits when nothing had to be loaded on demand for it (every neuron it needs was in the fast
/// tier, or already on its way there because it was fetched ahead of time). A hit still stalls when such a load had not
/// finished by the time the MLP starts; that wait is in <see cref="StallTime"/>.
/// </summary>
/// <param name="Policy">Name of the policy (on demand, ahead of time from …, oracle).</param>
/// <param name="Tokens">Tokens decoded.</param>
/// <param name="Requests">Expert requests: tokens × layers.</param>
/// <param name="Hits">Requests served without an on-demand load.</param>
/// <param name="NeuronsLoaded">Neurons copied from the slow tier (loads cancelled before they started are not counted).</param>
/// <param name="ComputeTime">Time spent computing (attention parts and MLPs), in <see cref="ExpertLoadCosts"/> units.</param>
/// <param name="StallTime">Time the MLPs waited for their experts.</param>
public sealed record ExpertCacheResult(string Policy, int Tokens, int Requests, int Hits, long NeuronsLoaded, double ComputeTime, double StallTime)
{
    /// <summary>Share of requests that hit.</summary>
    public double HitRate => Requests == 0 ? 0 : Hits / (double)Requests;

    /// <summary>Wall time of the whole sequence: compute plus stalls.</summary>
    public double TotalTime => ComputeTime + StallTime;

    /// <summary>Modelled latency per token.</summary>
    public double LatencyPerToken => Tokens == 0 ? 0 : TotalTime / Tokens;

    /// <summary>How many times faster than <paramref name="baseline"/> (its latency over this one's).</summary>
    public double SpeedUpOver(ExpertCacheResult baseline) => TotalTime == 0 ? 1 : baseline.TotalTime / TotalTime;
}
