using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.ActiveSpeaker;

/// <summary>
/// A pre-norm transformer block over frames whose attention lets frame t see frames t − P … t + F (those that exist), with
/// a learned bias per head for each relative position in that band (the block's only sense of order). Runs on a whole
/// sequence with the band mask (<see cref="Forward"/>), or frame by frame on a stream (<see cref="NewState"/>,
/// <see cref="Push"/>, <see cref="Flush"/>) with a ring buffer of the last P + F + 1 keys and values, giving frame t's
/// output when frame t + F arrives.
/// </summary>
public sealed class ContextBlock : nn.Module
{
    readonly int _heads, _headDim, _past, _future;
    public readonly LayerNorm norm1, norm2;
    public readonly Linear qkv, proj, ff1, ff2;
    public readonly Parameter relativeBias;

    public ContextBlock(int width, int heads, int past, int future) : base(nameof(ContextBlock))
    {
        (_heads, _headDim, _past, _future) = (heads, width / heads, past, future);
        norm1 = nn.LayerNorm(width);
        norm2 = nn.LayerNorm(width);
        qkv = nn.Linear(width, 3 * width);
        proj = nn.Linear(width, width);
        ff1 = nn.Linear(width, 2 * width);
        ff2 = nn.Linear(2 * width, width);
        relativeBias = nn.Parameter(zeros(heads, past + future + 1));
        RegisterComponents();
    }

    public int Past => _past;
    public int Future => _future;

    /// <summary>Which frames each frame may attend to: (T, T) bool, row = the attending frame, true for t − P ≤ key ≤ t + F.</summary>
    public static Tensor BandMask(long frames, int past, int future, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var offset = arange(frames, device: device).unsqueeze(0) - arange(frames, device: device).unsqueeze(1);
        return offset.ge(-past).logical_and(offset.le(future)).MoveToOuterDisposeScope();
    }

    Tensor FeedForward(Tensor y) => y + ff2.forward(F.gelu(ff1.forward(norm2.forward(y))));

    /// <summary>x: (B, T, d) → (B, T, d), every frame seeing its band of the sequence.</summary>
    public Tensor Forward(Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var parts = qkv.forward(norm1.forward(x)).view(b, t, 3, _heads, _headDim).permute(2, 0, 3, 1, 4);  // (3, B, H, T, hd)
        var (q, k, v) = (parts[0], parts[1], parts[2]);
        var offset = arange(t, device: x.device).unsqueeze(0) - arange(t, device: x.device).unsqueeze(1);     // key − query, (T, T)
        var allowed = BandMask(t, _past, _future, x.device);
        var bias = relativeBias.index_select(1, (offset + _past).clamp(0, _past + _future).flatten()).view(_heads, t, t);
        var scores = q.matmul(k.transpose(-2, -1)).div(Math.Sqrt(_headDim)) + bias;                           // (B, H, T, T)
        scores = scores.masked_fill(allowed.logical_not(), float.NegativeInfinity);
        var y = F.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(b, t, d);
        return FeedForward(x + proj.forward(y));
    }

    /// <summary>An empty stream state for <paramref name="streams"/> streams side by side (e.g. the faces of a scene).</summary>
    public ContextState NewState(int streams, Device device) => new(streams, _heads, _headDim, _past, _future, device);

    /// <summary>
    /// Frame s of each stream, x: (N, d). Returns the block's output for frame s − F, (N, d), or null while fewer than
    /// F + 1 frames have arrived.
    /// </summary>
    public Tensor? Push(ContextState state, Tensor x)
    {
        long n = x.shape[0];
        var parts = qkv.forward(norm1.forward(x)).view(n, 3, _heads, _headDim);
        long s = state.Frames;
        state.Remember(s, parts[.., 0], parts[.., 1], parts[.., 2], x);
        return s >= _future ? Emit(state, s - _future, s) : null;
    }

    /// <summary>The outputs of the last F frames, which no further frame will follow: (N, d) each, in order.</summary>
    public IEnumerable<Tensor> Flush(ContextState state)
    {
        long last = state.Frames - 1;
        for (long t = Math.Max(0, last - _future + 1); t <= last; t++) yield return Emit(state, t, last);
    }

    Tensor Emit(ContextState state, long t, long last)
    {
        var (q, x) = state.Pending(t);                                                                       // (N, H, hd), (N, d)
        long n = x.shape[0];
        var (allowed, position) = state.Band(t, Math.Min(t + _future, last));
        var scores = q.unsqueeze(2).matmul(state.Keys.transpose(-2, -1)).squeeze(2).div(Math.Sqrt(_headDim));  // (N, H, R)
        scores = (scores + relativeBias.index_select(1, position)).masked_fill(allowed.logical_not(), float.NegativeInfinity);
        var y = F.softmax(scores, -1).unsqueeze(2).matmul(state.Values).reshape(n, _heads * _headDim);        // (N, d)
        return FeedForward(x + proj.forward(y));
    }
}

/// <summary>
/// What a stream keeps for one <see cref="ContextBlock"/>: a ring buffer of the keys and values of its last P + F + 1
/// frames, and the queries and inputs of the last F + 1 frames, whose outputs wait for their future.
/// </summary>
public sealed class ContextState : IDisposable
{
    readonly int _past, _future;
    readonly long[] _slotFrame;
    readonly Device _device;

    internal ContextState(int streams, int heads, int headDim, int past, int future, Device device)
    {
        (_past, _future, _device) = (past, future, device);
        int ring = past + future + 1;
        Keys = zeros(streams, heads, ring, headDim, device: device).DetachFromDisposeScope();
        Values = zeros(streams, heads, ring, headDim, device: device).DetachFromDisposeScope();
        Queries = zeros(streams, future + 1, heads, headDim, device: device).DetachFromDisposeScope();
        Inputs = zeros(streams, future + 1, heads * headDim, device: device).DetachFromDisposeScope();
        _slotFrame = Enumerable.Repeat(-1L, ring).ToArray();
    }

    /// <summary>Keys of the ring, (N, H, P + F + 1, hd); slot j holds frame f with f mod (P + F + 1) = j.</summary>
    public Tensor Keys { get; }
    public Tensor Values { get; }
    Tensor Queries { get; }
    Tensor Inputs { get; }

    /// <summary>Frames pushed so far.</summary>
    public long Frames { get; private set; }

    /// <summary>Bytes this state holds (ring buffer plus waiting queries and inputs).</summary>
    public long Bytes => new[] { Keys, Values, Queries, Inputs }.Sum(t => t.NumberOfElements * t.ElementSize);

    internal void Remember(long frame, Tensor q, Tensor k, Tensor v, Tensor x)
    {
        using var _ = torch.no_grad();
        long slot = frame % _slotFrame.Length, waiting = frame % (_future + 1);
        Keys[.., .., slot] = k;
        Values[.., .., slot] = v;
        Queries[.., waiting] = q;
        Inputs[.., waiting] = x;
        _slotFrame[slot] = frame;
        Frames = frame + 1;
    }

    internal (Tensor Query, Tensor Input) Pending(long frame) => (Queries[.., frame % (_future + 1)], Inputs[.., frame % (_future + 1)]);

    /// <summary>Which slots frame t may attend to (frames t − P … <paramref name="newest"/>), and each slot's relative-position index.</summary>
    internal (Tensor Allowed, Tensor Position) Band(long t, long newest)
    {
        var allowed = new bool[_slotFrame.Length];
        var position = new long[_slotFrame.Length];
        for (int j = 0; j < _slotFrame.Length; j++)
        {
            long f = _slotFrame[j];
            allowed[j] = f >= 0 && f >= t - _past && f <= newest;
            position[j] = allowed[j] ? f - t + _past : 0;
        }
        return (tensor(allowed, device: _device), tensor(position, device: _device));
    }

    public void Dispose()
    {
        Keys.Dispose();
        Values.Dispose();
        Queries.Dispose();
        Inputs.Dispose();
    }
}
