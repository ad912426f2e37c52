using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Clustering;

/// <summary>
/// The saves of one clustering step (one weight tensor's forward): packs each tensor per the store's tricks and
/// remembers which storages it has seen, so a tensor saved again in the same step can share the first packing.
/// Identity is only trusted while the step runs, when every tensor it saw is still alive (a freed storage's address
/// may be reused); ending the pass forgets it.
/// </summary>
internal sealed class StorePass : IDisposable
{
    readonly SavedTensorStore _store;
    readonly UniqueWeights? _unique;
    readonly Dictionary<(long, long, string, ScalarType, string), long> _seen = new();
    readonly long[] _offsets;
    readonly (long Tables, long PerTable) _shape;
    SavedPart? _sharedIndex;

    public StorePass(SavedTensorStore store, UniqueWeights? unique)
    {
        (_store, _unique) = (store, unique);
        // Rebuilding needs only the layout of the tables, not the UniqueWeights' own tensors (which the step frees).
        _offsets = unique?.TableOffsets.ToArray() ?? [];
        _shape = unique?.Shape ?? (0, 0);
    }

    /// <summary>The store the saves go to.</summary>
    public SavedTensorStore Store => _store;

    /// <summary>The uniquification the forward may compute the attention on (null when the store does not uniquify).</summary>
    public UniqueWeights? Unique => _unique;

    /// <summary>
    /// Saves <paramref name="tensor"/> for backward and returns the key to load it with. <paramref name="uniqueRows"/>:
    /// the attention's unique rows (R, k) when the forward already computed them.
    /// </summary>
    public long Save(Tensor tensor, SavedKind kind, Tensor? uniqueRows = null)
    {
        var options = _store.Options;
        bool copies = options.Copies(tensor.device.type != DeviceType.CPU);
        var id = Identity(tensor);
        if ((!copies || options.Deduplicate) && _seen.TryGetValue(id, out var known) && _store.Share(known)) return known;
        long key = _store.Add(Pack(tensor, kind, uniqueRows, copies));
        _seen[id] = key;
        return key;
    }

    SavedEntry Pack(Tensor tensor, SavedKind kind, Tensor? uniqueRows, bool copies)
    {
        var options = _store.Options;
        int workers = options.Shards;
        using var scope = NewDisposeScope();
        if (_unique is not null && kind == SavedKind.Attention)
        {
            // (R, k) unique rows, from the forward or picked from the dense map at one weight per distinct value.
            var rows = uniqueRows ?? tensor.reshape(-1, tensor.shape[^1]).index_select(0, _unique.Representatives);
            var table = SavedPart.Copy(SavedKind.Attention, rows, workers, options.Offload);
            return new SavedEntry([table, IndexPart()], parts => Expand(parts[0].Gather(), parts[1].Gather()));
        }
        if (_unique is not null && kind == SavedKind.Weights)
        {
            var values = SavedPart.Copy(SavedKind.Weights, _unique.Values, workers, options.Offload);   // (R)
            return new SavedEntry([values, IndexPart()], parts => Expand(parts[0].Gather(), parts[1].Gather()));
        }
        var part = copies ? SavedPart.Copy(kind, tensor, workers, options.Offload) : SavedPart.Reference(kind, tensor, workers);
        return new SavedEntry([part], parts => parts[0].Gather());
    }

    /// <summary>The compact per-weight index; with de-duplication one per step, shared by all its tables and values.</summary>
    SavedPart IndexPart()
    {
        if (_store.Options.Deduplicate && _sharedIndex is { Refs: > 0 }) return _sharedIndex;
        using var compact = _unique!.CompactIndex();                                               // (G·n) uint8/int16/int32
        var part = SavedPart.Copy(SavedKind.Index, compact, _store.Options.Shards, _store.Options.Offload);
        if (_store.Options.Deduplicate) _sharedIndex = part;
        return part;
    }

    /// <summary>Rows of a unique table (R, …) for every weight: (G, n, …).</summary>
    Tensor Expand(Tensor table, Tensor compactIndex)
    {
        using var scope = NewDisposeScope();
        var offsets = tensor(_offsets, device: table.device);                                       // (G)
        var local = UniqueWeights.Widen(compactIndex.to(table.device)).view(_shape.Tables, _shape.PerTable);
        var global = (local + offsets.unsqueeze(1)).flatten();                                       // (G·n)
        var rows = table.index_select(0, global);                                                    // (G·n, …)
        return rows.view(new[] { _shape.Tables, _shape.PerTable }.Concat(table.shape.Skip(1)).ToArray()).MoveToOuterDisposeScope();
    }

    /// <summary>Same storage, offset, shape, type and device: the same tensor (views and autograd's output wrappers included).</summary>
    static (long, long, string, ScalarType, string) Identity(Tensor t)
    {
        long address = 0;
        if (t.dtype == ScalarType.Float32)
        {
            using var storage = t.storage<float>();
            address = storage.data_ptr().ToInt64();
        }
        else address = t.Handle.ToInt64();                                                          // no sharing for other types
        return (address, t.storage_offset(), string.Join(",", t.shape) + "/" + string.Join(",", t.stride()), t.dtype, t.device.ToString());
    }

    /// <summary>Forgets the identities seen (the step's tensors may be freed from now on).</summary>
    public void Dispose()
    {
        _seen.Clear();
        _sharedIndex = null;
    }
}
