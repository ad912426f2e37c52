using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Models;

/// <summary>
/// Keys and values of past positions, per layer, in preallocated buffers that are written in place. Each layer keeps its
/// own length, so a pass through only the first layers (early exit, a speculative draft) is allowed; <see cref="Rollback"/>
/// forgets positions in O(1), as speculative decoding needs.
/// <para>
/// A cache belongs to one state of the weights: its keys and values were computed with them, and for the decode step it
/// also keeps each layer's query, key and value projections concatenated into one matrix (one matmul instead of three),
/// taken from the model when that layer starts filling at position 0. After changing the weights, <see cref="Reset"/>
/// the cache (or make a new one).
/// </para>
/// </summary>
public sealed class KvCache : IDisposable
{
    // Each position's key row then value row, (B, capacity, 2·KvHeads·HeadDim): the layout the fused projection produces,
    // so one copy stores a step. _keys and _values are (B, KvHeads, capacity, HeadDim) views of it.
    readonly Tensor[] _rows, _keys, _values;
    readonly int[] _lengths;
    readonly FusedProjection?[] _projections;
    readonly int _kvWidth;
    Tensor? _mask;
    (long T, int Past, int Groups) _maskKey;

    internal KvCache(TinyGptConfig config, int batchSize, int capacity, Device device, ScalarType dtype)
    {
        if (batchSize < 1) throw new InvalidSettingsException("The batch needs at least one sequence.");
        if (capacity < 1 || capacity > config.ContextLength)
            throw new InvalidSettingsException($"Capacity must be between 1 and the context length {config.ContextLength} (got {capacity}).");
        BatchSize = batchSize;
        Capacity = capacity;
        _kvWidth = config.KvHeads * config.HeadDim;
        _rows = new Tensor[config.Layers];
        _keys = new Tensor[config.Layers];
        _values = new Tensor[config.Layers];
        _lengths = new int[config.Layers];
        _projections = new FusedProjection?[config.Layers];
        // Ordinary tensors even when made inside inference mode: they are written in place, in and out of it.
        using var normal = inference_mode(false);
        using var scope = NewDisposeScope();
        for (int l = 0; l < config.Layers; l++)
        {
            _rows[l] = zeros(batchSize, capacity, 2 * _kvWidth, dtype: dtype, device: device);
            var split = _rows[l].view(batchSize, capacity, 2, config.KvHeads, config.HeadDim);       // (B, cap, 2, Hkv, hd)
            _keys[l] = split.select(2, 0).transpose(1, 2);                                           // (B, Hkv, cap, hd)
            _values[l] = split.select(2, 1).transpose(1, 2);
            // Buffers outlive any dispose scope the caller happens to be in.
            _rows[l].DetachFromDisposeScope();
            _keys[l].DetachFromDisposeScope();
            _values[l].DetachFromDisposeScope();
        }
    }

    /// <summary>Layers it holds keys and values for.</summary>
    public int Layers => _lengths.Length;

    /// <summary>Sequences in the batch.</summary>
    public int BatchSize { get; }

    /// <summary>Most positions the cache can hold.</summary>
    public int Capacity { get; }

    /// <summary>Positions held by the first layer: where the next input starts.</summary>
    public int Length => _lengths[0];

    /// <summary>Positions held by layer <paramref name="layer"/> (less than <see cref="Length"/> after a shallow pass).</summary>
    public int LayerLength(int layer) => _lengths[layer];

    /// <summary>Keys and values layer <paramref name="layer"/> holds: views (B, KvHeads, LayerLength, HeadDim) of the buffers.</summary>
    public (Tensor Keys, Tensor Values) Layer(int layer) =>
        (_keys[layer].narrow(2, 0, _lengths[layer]), _values[layer].narrow(2, 0, _lengths[layer]));

    /// <summary>Forgets every position from <paramref name="length"/> on, in every layer.</summary>
    public void Rollback(int length)
    {
        if (length < 0 || length > Length)
            throw new InvalidSettingsException($"Can roll back to 0..{Length} positions, not {length}.");
        for (int l = 0; l < _lengths.Length; l++) _lengths[l] = Math.Min(_lengths[l], length);
    }

    /// <summary>Empties the cache.</summary>
    public void Reset() => Rollback(0);

    /// <summary>Stores this step's keys and values for <paramref name="layer"/> and returns all of them so far.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, int start, Tensor k, Tensor v) // k, v: (B, KvH, T, hd)
    {
        int t = Claim(layer, start, k.shape[2]);
        using (no_grad())
        {
            _keys[layer].narrow(2, start, t).copy_(k);
            _values[layer].narrow(2, start, t).copy_(v);
        }
        return Layer(layer);
    }

    /// <summary>
    /// Stores this step's key and value rows for <paramref name="layer"/>, (B, T, 2·KvHeads·HeadDim) as the fused
    /// projection makes them, with one copy, and returns all keys and values so far (views, nothing copied).
    /// </summary>
    internal (Tensor Keys, Tensor Values) AppendRows(int layer, int start, Tensor rows)
    {
        int t = Claim(layer, start, rows.shape[1]);
        _rows[layer].narrow(1, start, t).copy_(rows);
        return Layer(layer);
    }

    /// <summary>
    /// The first <paramref name="length"/> positions of <paramref name="layer"/>'s buffer, (B, length, 2·KvHeads·HeadDim), each
    /// position's key row then value row, now counted as held: for filling from outside (keys and values that another worker
    /// computed, received in place) instead of through a forward pass.
    /// </summary>
    internal Tensor HoldRows(int layer, int length)
    {
        if (length < 0 || length > Capacity)
            throw new EfficientMLException($"The KV cache holds at most {Capacity} positions, not {length}.");
        _lengths[layer] = length;
        return _rows[layer].narrow(1, 0, length);
    }

    int Claim(int layer, int start, long length)
    {
        if (_lengths[layer] != start)
            throw new EfficientMLException(
                $"Layer {layer} of the KV cache holds {_lengths[layer]} positions, but this input starts at position {start}. " +
                "Roll the cache back to the shorter length (or run the skipped positions through every layer) first.");
        int t = (int)length;
        if (start + t > Capacity)
            throw new EfficientMLException($"The KV cache holds at most {Capacity} positions; {start} + {t} do not fit. Reset or roll it back.");
        _lengths[layer] = start + t;
        return t;
    }

    /// <summary>
    /// The fused query/key/value projection of <paramref name="attention"/>, layer <paramref name="layer"/>: taken anew when
    /// that layer starts filling (or when its parameters are other tensors than before), otherwise the one taken then.
    /// </summary>
    internal FusedProjection Projection(int layer, CausalSelfAttention attention)
    {
        var p = _projections[layer];
        if (p is null || _lengths[layer] == 0 || !p.Reads(attention))
        {
            p?.Dispose();
            _projections[layer] = p = new FusedProjection(attention);
        }
        return p;
    }

    /// <summary>
    /// Which keys each of <paramref name="t"/> new queries at positions <paramref name="past"/>… may see, (G·T, past+T),
    /// repeated for <paramref name="groups"/> query heads per key head: made once and shared by every layer of a pass.
    /// </summary>
    internal Tensor Mask(long t, int past, int groups)
    {
        if (_mask is not null && _maskKey == (t, past, groups)) return _mask;
        _mask?.Dispose();
        using var scope = NewDisposeScope();
        // Query i sits at position past+i and may see keys 0..past+i (the library's is_causal aligns top-left).
        var mask = ones(t, past + t, dtype: ScalarType.Bool, device: _rows[0].device).tril(past);
        if (groups > 1) mask = mask.repeat(groups, 1);
        _mask = mask.DetachFromDisposeScope();
        _maskKey = (t, past, groups);
        return _mask;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
        foreach (var t in _rows) t.Dispose();
        foreach (var p in _projections) p?.Dispose();
        _mask?.Dispose();
    }
}

/// <summary>
/// One attention layer's query, key and value projections as one weight (H·hd + 2·Hkv·hd, C) and bias: a copy made without
/// gradients, for decoding only; training keeps updating the three separate parameters.
/// </summary>
internal sealed class FusedProjection : IDisposable
{
    readonly Tensor?[] _sources;   // the parameters it was made from

    public FusedProjection(CausalSelfAttention a)
    {
        _sources = [a.q_proj.weight, a.k_proj.weight, a.v_proj.weight, a.q_proj.bias, a.k_proj.bias, a.v_proj.bias];
        using var normal = inference_mode(false);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        Weight = cat(new[] { a.q_proj.weight!, a.k_proj.weight!, a.v_proj.weight! }, 0).DetachFromDisposeScope();
        Bias = cat(new[] { a.q_proj, a.k_proj, a.v_proj }.Select(p => p.bias ?? zeros(p.weight!.shape[0], dtype: p.weight!.dtype, device: p.weight!.device)).ToArray(), 0)
            .DetachFromDisposeScope();
    }

    public Tensor Weight { get; }
    public Tensor Bias { get; }

    /// <summary>Whether this was made from <paramref name="a"/>'s current parameter tensors.</summary>
    public bool Reads(CausalSelfAttention a) =>
        ReferenceEquals(_sources[0], a.q_proj.weight) && ReferenceEquals(_sources[1], a.k_proj.weight) && ReferenceEquals(_sources[2], a.v_proj.weight) &&
        ReferenceEquals(_sources[3], a.q_proj.bias) && ReferenceEquals(_sources[4], a.k_proj.bias) && ReferenceEquals(_sources[5], a.v_proj.bias);

    public void Dispose()
    {
        Weight.Dispose();
        Bias.Dispose();
    }
}
