using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// Keeps what the DKM step's custom autograd functions need for backward, and counts it exactly. With
/// <see cref="EDkmOptions.None"/> it is plain DKM: the dense tensors, held by reference (a tensor saved by two
/// functions is one tensor, as in autograd). With eDKM's tricks it packs them: unique rows plus a small index,
/// split over workers, on the host, saved once per step. Backward rebuilds the dense tensors on use, then frees them.
/// One store can serve many clusterers (a whole model), so its report covers everything they keep.
/// </summary>
public sealed class SavedTensorStore : IDisposable
{
    readonly object _lock = new();
    readonly Dictionary<long, SavedEntry> _entries = new();
    readonly HashSet<SavedPart> _parts = new();
    long _nextKey = 1;
    SavedBytes _peak;
    long _peakPerWorker;
    int _saves, _copies;

    /// <summary>A store with the given eDKM tricks; null or <see cref="EDkmOptions.None"/> for plain DKM.</summary>
    public SavedTensorStore(EDkmOptions? options = null)
    {
        Options = (options ?? EDkmOptions.None).Validate();
        _peak = SavedBytes.Empty(Options.Shards);
    }

    /// <summary>The tricks this store uses.</summary>
    public EDkmOptions Options { get; }

    /// <summary>Bytes held now and at the peak, by worker, memory and kind.</summary>
    public SavedTensorReport Report
    {
        get
        {
            lock (_lock)
                return new SavedTensorReport
                {
                    Store = Options.ToString(), Current = Measure(), Peak = _peak, PeakPerWorker = _peakPerWorker,
                    Saves = _saves, StoredCopies = _copies,
                };
        }
    }

    /// <summary>Number of saved tensors still waiting for their backward.</summary>
    public int Pending { get { lock (_lock) return _entries.Count; } }

    /// <summary>
    /// The first error a backward pass through the DKM functions met (e.g. a second backward through a step whose saved
    /// tensors were already freed), or null. Backward cannot throw into libtorch, so it leaves NaN gradients and this.
    /// </summary>
    public Exception? Failure { get; private set; }

    /// <summary>Throws <see cref="Failure"/> as a managed exception (and forgets it), if there was one.</summary>
    public void ThrowIfFailed()
    {
        Exception? failure;
        lock (_lock) { failure = Failure; Failure = null; }
        if (failure is not null)
            throw new EfficientMLException($"A backward pass through DKM failed, so its gradients are NaN: {failure.Message}", failure);
    }

    internal void Fail(Exception e)
    {
        lock (_lock)
        {
            if (Failure is not null) return;
            Failure = e;
        }
        Console.Error.WriteLine($"DKM backward failed (gradients set to NaN): {e.Message}");
    }

    /// <summary>Starts a new measurement: the peak becomes what is held now, and the save counters restart.</summary>
    public void ResetPeak()
    {
        lock (_lock)
        {
            _peak = Measure();
            _peakPerWorker = _peak.MaxPerWorker;
            _saves = _copies = 0;
        }
    }

    /// <summary>Frees everything held (e.g. after forward passes whose backward never ran).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            foreach (var part in _parts) part.Free();
            _parts.Clear();
            _entries.Clear();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Clear();

    /// <summary>Starts one clustering step's saves; <paramref name="unique"/> is the step's uniquification (when uniquifying).</summary>
    internal StorePass Begin(UniqueWeights? unique) => new(this, Options.Uniquify ? unique : null);

    /// <summary>Registers a packed tensor and returns its key.</summary>
    internal long Add(SavedEntry entry)
    {
        lock (_lock)
        {
            long key = _nextKey++;
            _entries[key] = entry;
            foreach (var part in entry.Parts)
                if (part.Refs++ == 0) _parts.Add(part);
            _saves++;
            _copies++;
            Track();
            return key;
        }
    }

    /// <summary>One more save of an already stored tensor.</summary>
    internal bool Share(long key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry)) return false;
            entry.Refs++;
            _saves++;
            return true;
        }
    }

    /// <summary>Rebuilds the saved tensor (dense, on its device) for backward.</summary>
    internal Tensor Load(long key)
    {
        SavedEntry entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out entry!))
                throw new EfficientMLException(
                    "The tensors saved for this DKM step were already freed: backward ran through it once (retain_graph is not supported) or the store was cleared. Run the forward pass again.");
        }
        return entry.Rebuild();
    }

    /// <summary>Backward is done with one save: the last release of a tensor frees it.</summary>
    internal void Release(long key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry) || --entry.Refs > 0) return;
            _entries.Remove(key);
            foreach (var part in entry.Parts)
                if (--part.Refs == 0) { _parts.Remove(part); part.Free(); }
        }
    }

    void Track()
    {
        var now = Measure();
        if (now.Total > _peak.Total) _peak = now;
        _peakPerWorker = Math.Max(_peakPerWorker, now.MaxPerWorker);
    }

    SavedBytes Measure()
    {
        var perWorker = new long[Options.Shards];
        var byKind = Enum.GetValues<SavedKind>().ToDictionary(k => k, _ => 0L);
        long host = 0, device = 0;
        foreach (var part in _parts)
        {
            for (int w = 0; w < part.WorkerBytes.Length; w++) perWorker[w] += part.WorkerBytes[w];
            long bytes = part.WorkerBytes.Sum();
            byKind[part.Kind] += bytes;
            if (part.OnHost) host += bytes; else device += bytes;
        }
        return new SavedBytes { Total = host + device, PerWorker = perWorker, OnDevice = device, OnHost = host, ByKind = byKind };
    }
}

/// <summary>
/// One stored tensor (or piece of a packing), split into one shard per worker.
/// Shared by every saved entry that refers to it; freed when the last one is released.
/// </summary>
internal sealed class SavedPart
{
    readonly Tensor[] _shards;
    readonly long[] _shape;
    readonly Device _device;

    public SavedKind Kind { get; }
    public long[] WorkerBytes { get; }
    public bool OnHost { get; }
    public int Refs { get; set; }

    SavedPart(SavedKind kind, Tensor[] shards, long[] shape, Device device, bool onHost)
    {
        (Kind, _shards, _shape, _device, OnHost) = (kind, shards, shape, device, onHost);
        WorkerBytes = shards.Select(s => s.numel() * s.element_size()).ToArray();
    }

    /// <summary>Keeps <paramref name="tensor"/> itself (a new reference to its storage): plain DKM.</summary>
    public static SavedPart Reference(SavedKind kind, Tensor tensor, int workers)
    {
        var shards = new Tensor[workers];
        shards[0] = tensor.detach().DetachFromDisposeScope();
        for (int w = 1; w < workers; w++) shards[w] = empty(0, dtype: tensor.dtype, device: tensor.device).DetachFromDisposeScope();
        return new SavedPart(kind, shards, tensor.shape, tensor.device, onHost: false);
    }

    /// <summary>
    /// Copies <paramref name="tensor"/> into <paramref name="workers"/> pieces, on the host when offloading from a GPU:
    /// an attention map or table by rows of k (a worker holds whole rows), anything else element by element.
    /// </summary>
    public static SavedPart Copy(SavedKind kind, Tensor tensor, int workers, bool offload)
    {
        bool toHost = offload && tensor.device.type != DeviceType.CPU;
        var rows = kind == SavedKind.Attention ? tensor.reshape(-1, tensor.shape[^1]) : tensor.reshape(-1);  // (rows, k) or (numel)
        var pieces = workers > 1 ? rows.tensor_split(workers, 0) : new[] { rows };
        var shards = pieces.Select(p => (toHost ? p.to(CPU) : p.clone()).contiguous().DetachFromDisposeScope()).ToArray();
        return new SavedPart(kind, shards, tensor.shape, tensor.device, toHost);
    }

    /// <summary>The whole tensor again, on its own device, gathered from the workers.</summary>
    public Tensor Gather()
    {
        var whole = _shards.Length == 1 || _shards.Skip(1).All(s => s.numel() == 0) ? _shards[0] : cat(_shards, 0);
        return whole.to(_device).view(_shape);
    }

    public void Free()
    {
        foreach (var s in _shards) s.Dispose();
    }
}

/// <summary>One save: the parts it is packed into and how to rebuild the dense tensor from them.</summary>
internal sealed class SavedEntry(SavedPart[] parts, Func<SavedPart[], Tensor> rebuild)
{
    public SavedPart[] Parts { get; } = parts;
    public int Refs { get; set; } = 1;
    public Tensor Rebuild() => rebuild(Parts);
}
