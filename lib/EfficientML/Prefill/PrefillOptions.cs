using EfficientML.Core;

namespace EfficientML.Prefill;

/// <summary>How a prompt's prefill is split across workers.</summary>
public enum PrefillMethod
{
    /// <summary>One worker runs the whole prompt (the reference).</summary>
    Single,

    /// <summary>Sequence parallel: even chunks, keys and values exchanged at every layer by all-gather (the TSP-style baseline).</summary>
    AllGather,

    /// <summary>KV-Runahead: contiguous chunks, each worker hands the grown KV cache to the next, layer by layer.</summary>
    Runahead,
}

/// <summary>Settings of one parallel prefill.</summary>
public sealed record PrefillOptions
{
    /// <summary>Workers (P); <see cref="PrefillMethod.Single"/> uses one.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>How the work is split.</summary>
    public PrefillMethod Method { get; init; } = PrefillMethod.Runahead;

    /// <summary>Tokens per worker, in order (must sum to the prompt length); null: even chunks.</summary>
    public IReadOnlyList<int>? Partition { get; init; }

    /// <summary>Also keep the last worker's KV cache (for decoding on) in the result.</summary>
    public bool KeepCache { get; init; } = true;

    /// <summary>Most workers a prefill may use.</summary>
    public const int MaxWorkers = 64;

    /// <summary>The chunk lengths for a prompt of <paramref name="length"/> tokens, after one clear message for anything that cannot work.</summary>
    public int[] ChunksFor(int length, int contextLength)
    {
        if (length < 1) throw new InvalidSettingsException("The prompt needs at least one token.");
        if (length > contextLength)
            throw new InvalidSettingsException($"The prompt has {length} tokens but the model's context holds {contextLength}: crop the prompt or use a model with a longer context.");
        int workers = Method == PrefillMethod.Single ? 1 : Workers;
        if (workers < 1 || workers > MaxWorkers) throw new InvalidSettingsException($"Use 1 to {MaxWorkers} workers (got {Workers}).");
        if (workers > length) throw new InvalidSettingsException($"{workers} workers cannot split a prompt of {length} tokens: each needs at least one token.");
        if (Partition is null || Method == PrefillMethod.Single) return Partitions.Even(length, workers);
        if (Method == PrefillMethod.AllGather)
            throw new InvalidSettingsException("The all-gather baseline always uses even chunks; leave the partition out (or use the runahead method).");
        if (Partition.Count != workers)
            throw new InvalidSettingsException($"The partition [{string.Join(", ", Partition)}] has {Partition.Count} chunks for {workers} workers: give one length per worker.");
        if (Partition.Any(c => c < 1))
            throw new InvalidSettingsException($"Every chunk needs at least one token; the partition [{string.Join(", ", Partition)}] has an empty or negative one.");
        long sum = Partition.Sum(c => (long)c);
        if (sum != length)
            throw new InvalidSettingsException($"The partition [{string.Join(", ", Partition)}] sums to {sum} tokens but the prompt has {length}: the chunks must add up to the prompt.");
        return Partition.ToArray();
    }
}

/// <summary>Chunk lengths.</summary>
public static class Partitions
{
    /// <summary><paramref name="workers"/> chunks as even as whole tokens allow (earlier ones take the remainder).</summary>
    public static int[] Even(int length, int workers) =>
        Enumerable.Range(0, workers).Select(i => length / workers + (i < length % workers ? 1 : 0)).ToArray();

    /// <summary>Where each chunk starts.</summary>
    public static int[] Starts(IReadOnlyList<int> chunks)
    {
        var starts = new int[chunks.Count];
        for (int i = 1; i < chunks.Count; i++) starts[i] = starts[i - 1] + chunks[i - 1];
        return starts;
    }

    /// <summary>Chunk lengths from shares of the prompt (summing to about 1), rounded so they sum to <paramref name="length"/>, each ≥ 1.</summary>
    public static int[] FromShares(IReadOnlyList<double> shares, int length)
    {
        if (shares.Count < 1 || shares.Count > length) throw new InvalidSettingsException($"Cannot split {length} tokens into {shares.Count} chunks.");
        double total = shares.Sum();
        var chunks = new int[shares.Count];
        double cumulative = 0;
        int previous = 0;
        for (int i = 0; i < shares.Count; i++)
        {
            cumulative += shares[i] / total;
            int end = i == shares.Count - 1 ? length : (int)Math.Round(cumulative * length);
            end = Math.Clamp(end, previous + 1, length - (shares.Count - 1 - i));
            chunks[i] = end - previous;
            previous = end;
        }
        return chunks;
    }
}
