namespace EfficientML.Clustering;

/// <summary>What a tensor kept for backward by the DKM step is.</summary>
public enum SavedKind
{
    /// <summary>The attention map A (N × k dense, or its table of unique rows U × k).</summary>
    Attention,

    /// <summary>The per-weight index into unique rows/values (eDKM uniquification).</summary>
    Index,

    /// <summary>The 16-bit-rounded weights w (N dense, or their U unique values).</summary>
    Weights,

    /// <summary>The centroids c (tables × k).</summary>
    Centroids,
}

/// <summary>
/// Bytes a <see cref="SavedTensorStore"/> holds at one moment: exactly Σ numel × element size over the tensors it keeps,
/// each counted once however many saves share it.
/// </summary>
public sealed record SavedBytes
{
    /// <summary>All bytes, over all workers and both memories.</summary>
    public required long Total { get; init; }

    /// <summary>Bytes each (simulated) worker holds; one entry per shard.</summary>
    public required IReadOnlyList<long> PerWorker { get; init; }

    /// <summary>Bytes left on the device the computation runs on (the GPU, or the CPU when computing on the CPU).</summary>
    public required long OnDevice { get; init; }

    /// <summary>Bytes moved to host memory by offloading (0 unless computing on a GPU with <see cref="EDkmOptions.Offload"/>).</summary>
    public required long OnHost { get; init; }

    /// <summary>Bytes by kind of tensor.</summary>
    public required IReadOnlyDictionary<SavedKind, long> ByKind { get; init; }

    /// <summary>Bytes of the busiest worker.</summary>
    public long MaxPerWorker => PerWorker.Count == 0 ? 0 : PerWorker.Max();

    /// <summary>Bytes of one kind (0 if none).</summary>
    public long this[SavedKind kind] => ByKind.TryGetValue(kind, out var b) ? b : 0;

    /// <summary>Nothing held.</summary>
    public static SavedBytes Empty(int workers) => new()
    {
        Total = 0, PerWorker = new long[workers], OnDevice = 0, OnHost = 0,
        ByKind = Enum.GetValues<SavedKind>().ToDictionary(k => k, _ => 0L),
    };

    /// <inheritdoc />
    public override string ToString() =>
        $"{Total:N0} B (attention {this[SavedKind.Attention]:N0}, index {this[SavedKind.Index]:N0}, weights {this[SavedKind.Weights]:N0}, " +
        $"centroids {this[SavedKind.Centroids]:N0}; busiest worker {MaxPerWorker:N0}; host {OnHost:N0})";
}

/// <summary>What a <see cref="SavedTensorStore"/> keeps for backward: now, at its peak, and how often it was asked.</summary>
public sealed record SavedTensorReport
{
    /// <summary>Which tricks the store uses (e.g. "eDKM: uniquify + shard×4").</summary>
    public required string Store { get; init; }

    /// <summary>Bytes held now.</summary>
    public required SavedBytes Current { get; init; }

    /// <summary>Bytes held when the total was highest since the last reset (a forward pass's full set, before backward frees it).</summary>
    public required SavedBytes Peak { get; init; }

    /// <summary>Most bytes any one worker held at any moment since the last reset.</summary>
    public required long PeakPerWorker { get; init; }

    /// <summary>Save requests since the last reset (each custom function saves several tensors).</summary>
    public required int Saves { get; init; }

    /// <summary>Saves that stored something new (the others shared an earlier copy).</summary>
    public required int StoredCopies { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Store}: peak {Peak}; now {Current.Total:N0} B; {Saves} saves, {StoredCopies} stored";
}
