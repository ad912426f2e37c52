using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Prefill;

/// <summary>
/// A finished prefill: every worker's part, the timeline, time to first token, and (from the last worker) the first-token
/// logits and the full KV cache, which <see cref="TinyGpt.Generate(IReadOnlyList{int}, GenerationOptions?, Action{int}?, CancellationToken, KvCache?)"/>
/// continues from.
/// </summary>
public sealed class PrefillRun : IDisposable
{
    internal PrefillRun(PrefillMethod method, IReadOnlyList<int> chunks, IReadOnlyList<WorkerPrefill> workers, string transport)
    {
        Method = method;
        Chunks = chunks;
        Workers = workers;
        Transport = transport;
    }

    /// <summary>How the work was split.</summary>
    public PrefillMethod Method { get; }

    /// <summary>Tokens per worker.</summary>
    public IReadOnlyList<int> Chunks { get; }

    /// <summary>Each worker's part, by rank.</summary>
    public IReadOnlyList<WorkerPrefill> Workers { get; }

    /// <summary>"in-process" or "MPI".</summary>
    public string Transport { get; }

    /// <summary>Prompt tokens.</summary>
    public int PromptLength => Chunks.Sum();

    /// <summary>Seconds from the common start to the first token's logits (the last worker's finish).</summary>
    public double TimeToFirstToken => Workers[^1].Seconds;

    /// <summary>Every worker's events, by worker then time.</summary>
    public IReadOnlyList<TimelineEvent> Timeline => Workers.SelectMany(w => w.Events).ToList();

    /// <summary>Bytes of keys and values the workers sent in all.</summary>
    public long BytesSent => Workers.Sum(w => w.BytesSent);

    /// <summary>Logits (V) of the token after the prompt.</summary>
    public Tensor Logits => Workers[^1].Logits!;

    /// <summary>The greedy first token.</summary>
    public int FirstToken => (int)Logits.argmax().item<long>();

    /// <summary>The last worker's KV cache, holding every prompt position (null when not kept).</summary>
    public KvCache? Cache => Workers[^1].Cache;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var w in Workers) w.Dispose();
    }
}
