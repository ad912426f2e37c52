using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Models;

/// <summary>
/// Keys and values of past positions, per layer, in preallocated buffers (B, KvHeads, capacity, HeadDim).
/// Each layer keeps its own length, so a pass through only the first layers (early exit, a speculative
/// draft) is allowed; <see cref="Rollback"/> forgets positions in O(1), as speculative decoding needs.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] _keys, _values;
    readonly int[] _lengths;

    internal KvCache(TinyGptConfig config, int batchSize, int capacity, Device device, ScalarType dtype)
    {
        if (batchSize < 1) throw new InvalidSettingsException("The batch needs at least one sequence.");
        if (capacity < 1 || capacity > config.ContextLength)
            throw new InvalidSettingsException($"Capacity must be between 1 and the context length {config.ContextLength} (got {capacity}).");
        BatchSize = batchSize;
        Capacity = capacity;
        _keys = new Tensor[config.Layers];
        _values = new Tensor[config.Layers];
        _lengths = new int[config.Layers];
        for (int l = 0; l < config.Layers; l++)
        {
            // Buffers outlive any dispose scope the caller happens to be in.
            _keys[l] = zeros(batchSize, config.KvHeads, capacity, config.HeadDim, dtype: dtype, device: device).DetachFromDisposeScope();
            _values[l] = zeros(batchSize, config.KvHeads, capacity, config.HeadDim, dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

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
        if (_lengths[layer] != start)
            throw new EfficientMLException(
                $"Layer {layer} of the KV cache holds {_lengths[layer]} positions, but this input starts at position {start}. " +
                "Roll the cache back to the shorter length (or run the skipped positions through every layer) first.");
        int t = (int)k.shape[2];
        if (start + t > Capacity)
            throw new EfficientMLException($"The KV cache holds at most {Capacity} positions; {start} + {t} do not fit. Reset or roll it back.");
        using (no_grad())
        {
            _keys[layer].narrow(2, start, t).copy_(k);
            _values[layer].narrow(2, start, t).copy_(v);
        }
        _lengths[layer] = start + t;
        return (_keys[layer].narrow(2, 0, start + t), _values[layer].narrow(2, 0, start + t));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
