using System.Text.Json;
using System.Text.Json.Serialization;
using EfficientML.Distributed;
using static TorchSharp.torch;

namespace EfficientML.Prefill;

/// <summary>
/// What a prefill did, without tensors: method, chunks, time to first token, timeline and bytes handed on, and, when it was
/// checked, how far its first-token logits and KV cache are from single-process prefill. The same for threads and for MPI
/// processes (whose summary travels back as JSON).
/// </summary>
public sealed record PrefillSummary(
    PrefillMethod Method,
    string Transport,
    int[] Chunks,
    double TimeToFirstToken,
    IReadOnlyList<TimelineEvent> Timeline,
    long BytesSent,
    int FirstToken,
    double? MaxLogitDifference = null,
    double? MaxCacheDifference = null,
    double? LogitScale = null)
{
    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Prompt tokens.</summary>
    public int PromptLength => Chunks.Sum();

    /// <summary>Workers.</summary>
    public int Workers => Chunks.Length;

    /// <summary>One line of JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <see cref="ToJson"/>'s output.</summary>
    public static PrefillSummary FromJson(string json) => JsonSerializer.Deserialize<PrefillSummary>(json, Json)!;

    /// <summary>The summary of a finished run (checked against <paramref name="reference"/> when given).</summary>
    public static PrefillSummary Of(PrefillRun run, PrefillRun? reference = null) => new(
        run.Method, run.Transport, run.Chunks.ToArray(), run.TimeToFirstToken, run.Timeline, run.BytesSent, run.FirstToken,
        reference is null ? null : MaxDifference(run.Logits, reference.Logits),
        reference is null || run.Cache is null || reference.Cache is null ? null : CacheDifference(run.Cache, reference.Cache),
        reference is null ? null : Scale(reference.Logits));

    /// <summary>Largest absolute value of a tensor: the scale float32 rounding differences are relative to.</summary>
    public static double Scale(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.abs().max().to_type(ScalarType.Float64).item<double>();
    }

    /// <summary>
    /// Whether the logits and cache agree with single-process prefill within <paramref name="relative"/> of the logits' scale:
    /// float32 kernels given chunks of other lengths round differently (the model's own chunked prefill differs from its
    /// whole-prompt prefill by the same order), so the bound is relative; in float64 the differences vanish.
    /// </summary>
    public bool AgreesWithSingle(double relative = 1e-5) =>
        MaxLogitDifference is double l && MaxCacheDifference is double c && LogitScale is double s && l <= relative * s && c <= relative * s;

    /// <summary>Largest absolute difference between two tensors of one shape.</summary>
    public static double MaxDifference(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a - b).abs().max().to_type(ScalarType.Float64).item<double>();
    }

    /// <summary>Largest absolute difference between two caches' keys and values over every layer (their lengths must agree).</summary>
    public static double CacheDifference(Models.KvCache a, Models.KvCache b)
    {
        if (a.Length != b.Length) return double.PositiveInfinity;
        double worst = 0;
        for (int l = 0; l < a.Layers; l++)
        {
            var (ka, va) = a.Layer(l);
            var (kb, vb) = b.Layer(l);
            if (a.LayerLength(l) != b.LayerLength(l)) return double.PositiveInfinity;
            worst = Math.Max(worst, Math.Max(MaxDifference(ka, kb), MaxDifference(va, vb)));
        }
        return worst;
    }

    /// <summary>
    /// Collects every rank's part of an MPI (or any) group run into one summary on every rank: the timelines travel as
    /// float rows through two all-gathers (counts, then events); times are relative to each rank's start after the common
    /// barrier.
    /// </summary>
    public static PrefillSummary Gather(WorkerPrefill mine, PrefillMethod method, IReadOnlyList<int> chunks, ICommunicator group)
    {
        const int Fields = 6;
        using var scope = NewDisposeScope();
        var counts = zeros(group.Size);
        var own = tensor(new float[] { mine.Events.Count });
        group.AllGather(own, counts, Enumerable.Repeat(1, group.Size).ToArray());
        var sizes = counts.data<float>().Select(c => (int)c * Fields).ToArray();
        var rows = tensor(mine.Events.SelectMany(e => new[] { e.Worker, e.Layer, (float)e.Activity, (float)e.Start, (float)e.End, e.Bytes }).ToArray());
        var all = zeros(sizes.Sum());
        group.AllGather(rows, all, sizes);
        var values = all.data<float>().ToArray();
        var events = Enumerable.Range(0, values.Length / Fields).Select(i =>
        {
            var v = values.AsSpan(i * Fields, Fields);
            return new TimelineEvent((int)v[0], (int)v[1], (Activity)(int)v[2], v[3], v[4], (long)v[5]);
        }).ToList();
        var totals = tensor(new float[] { mine.BytesSent, (float)mine.Seconds, mine.Logits is null ? -1 : (int)mine.Logits.argmax().item<long>() });
        var everyone = zeros(3 * group.Size);
        group.AllGather(totals, everyone, Enumerable.Repeat(3, group.Size).ToArray());
        var t = everyone.data<float>().ToArray();
        int lastRank = group.Size - 1;
        return new PrefillSummary(method, group.Transport, chunks.ToArray(), t[3 * lastRank + 1], events,
            (long)Enumerable.Range(0, group.Size).Sum(r => (double)t[3 * r]), (int)t[3 * lastRank + 2]);
    }
}
