using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.GatedConformer;

/// <summary>
/// A stream's output so far: per step the class posteriors [T, classes] and keyword bounds [T, 2] (steps back to the
/// start and on to the end, ÷ 10), and per gated module and gate block whether it ran [modules, J].
/// </summary>
public sealed record StreamOutput(float[,] Posteriors, float[,] Bounds, bool[,] Ran, double StepSeconds)
{
    /// <summary>Steps computed.</summary>
    public int Steps => Posteriors.GetLength(0);

    /// <summary>Share of module runs skipped, over all gated modules and gate blocks.</summary>
    public double SkippedShare
    {
        get
        {
            int total = Ran.Length, ran = 0;
            foreach (var r in Ran) if (r) ran++;
            return total == 0 ? 0 : 1 - (double)ran / total;
        }
    }

    /// <summary>Share skipped per module kind (averaged over blocks).</summary>
    public IReadOnlyDictionary<ConformerModuleKind, double> SkippedShareByKind()
    {
        var result = new Dictionary<ConformerModuleKind, double>();
        int modules = Ran.GetLength(0), gateBlocks = Ran.GetLength(1);
        foreach (var kind in Enum.GetValues<ConformerModuleKind>())
        {
            int total = 0, ran = 0;
            for (int m = (int)kind; m < modules; m += 4)
                for (int j = 0; j < gateBlocks; j++) { total++; if (Ran[m, j]) ran++; }
            result[kind] = total == 0 ? 0 : 1 - (double)ran / total;
        }
        return result;
    }
}

/// <summary>
/// Runs a <see cref="ConformerSpotter"/> over a stream of log-mel frames pushed in chunks of any size. Frames wait until a
/// whole gate block is there; then, block by block and module by module, the gate decides and a module that is skipped
/// is not called (its cache moves on with empty steps). Equal to the model's whole-sequence forward pass in eval mode.
/// </summary>
public sealed class ConformerStream : IDisposable
{
    readonly ConformerSpotter _model;
    readonly AttentionCache[] _attention;
    readonly ConvolutionCache[] _convolution;
    readonly List<float[]> _posteriors = [], _bounds = [];
    readonly List<bool[]> _ran = [];
    readonly Tensor[][] _gateHistory;                                                // per gated module, the pooled inputs of the blocks before, newest first
    Tensor _pending;

    internal ConformerStream(ConformerSpotter model)
    {
        _model = model;
        var device = model.input.weight!.device;
        _attention = model.blocks.Select(b => b.attention.NewCache(device)).ToArray();
        _convolution = model.blocks.Select(b => b.convolution.NewCache(model.Config.Width, device)).ToArray();
        _pending = zeros(model.Config.Mels, 0, device: device).DetachFromDisposeScope();
        int context = model.Config.Gated ? model.Config.GateContext : 0;             // an ungated model has no gates to remember for
        _gateHistory = Enumerable.Range(0, model.Config.Modules)
            .Select(_ => Enumerable.Range(0, context).Select(_ => zeros(1, model.Config.Width, device: device).DetachFromDisposeScope()).ToArray())
            .ToArray();
    }

    /// <summary>Seconds per step.</summary>
    public double StepSeconds => _model.Config.StackFrames * 0.01;

    /// <summary>
    /// Adds raw log-mel frames (mels, n) — n may be any size, including less than a gate block — and computes every gate
    /// block that is now complete.
    /// </summary>
    public void Push(Tensor frames)
    {
        var c = _model.Config;
        if (frames.dim() != 2 || frames.shape[0] != c.Mels)
            throw new InvalidSettingsException($"Push log-mel frames as ({c.Mels} mels, frames), not [{string.Join(", ", frames.shape)}].");
        using var noGrad = no_grad();
        using var eval = new EvalMode(_model);
        var all = cat([_pending, frames.to(_pending.device).to_type(ScalarType.Float32)], 1);
        long whole = all.shape[1] / c.FramesPerGate;
        for (long j = 0; j < whole; j++)
        {
            using var scope = NewDisposeScope();
            Block(all.narrow(1, j * c.FramesPerGate, c.FramesPerGate));
        }
        var rest = all.narrow(1, whole * c.FramesPerGate, all.shape[1] - whole * c.FramesPerGate).contiguous().DetachFromDisposeScope();
        _pending.Dispose();
        all.Dispose();
        _pending = rest;
    }

    void Block(Tensor frames)
    {
        var c = _model.Config;
        var x = _model.Steps(frames.unsqueeze(0));                                   // (1, G, d)
        var ran = new bool[c.Modules];
        int m = 0;
        for (int b = 0; b < _model.blocks.Count; b++)
        {
            var block = _model.blocks[b];
            if (ran[m] = Runs(block, 0, m++, x)) x = x + block.feedForwardIn.Forward(x).mul(0.5);
            if (ran[m] = Runs(block, 1, m++, x)) x = x + block.attention.Step(x, _attention[b]);
            else block.attention.Skip(_attention[b], c.GateSteps);
            if (ran[m] = Runs(block, 2, m++, x)) x = x + block.convolution.Step(x, _convolution[b]);
            else block.convolution.Skip(_convolution[b], c.GateSteps);
            if (ran[m] = Runs(block, 3, m++, x)) x = x + block.feedForwardOut.Forward(x).mul(0.5);
            x = block.final.forward(x);
        }
        // One copy out per gate block: (G, classes + 2), the posteriors then the bounds.
        var values = cat([_model.classifier.forward(x).softmax(-1), _model.bounds.forward(x)], -1).squeeze(0).cpu().data<float>().ToArray();
        int width = c.Classes + 2;
        for (int s = 0; s < c.GateSteps; s++)
        {
            _posteriors.Add(values.AsSpan(s * width, c.Classes).ToArray());
            _bounds.Add(values.AsSpan(s * width + c.Classes, 2).ToArray());
        }
        _ran.Add(ran);
    }

    bool Runs(GatedConformerBlock block, int module, int gated, Tensor x)
    {
        if (!_model.Config.Gated || _model.Gating == GateMode.Keep) return true;
        if (_model.Gating == GateMode.Skip) return false;
        var pooled = x.mean([1]);                                                    // (1, d): pooled over the gate block
        var history = _gateHistory[gated];
        var input = history.Length == 0 ? pooled : cat([pooled, .. history], -1);
        if (history.Length > 0)                                                      // this block becomes the newest of the past
        {
            history[^1].Dispose();
            Array.Copy(history, 0, history, 1, history.Length - 1);
            history[0] = pooled.detach().DetachFromDisposeScope();
        }
        return block.gates[module].forward(input).item<float>() > _model.GateLogitThreshold;
    }

    /// <summary>Everything computed so far.</summary>
    public StreamOutput Output()
    {
        int steps = _posteriors.Count, classes = _model.Config.Classes, modules = _model.Config.Modules;
        var posteriors = new float[steps, classes];
        var bounds = new float[steps, 2];
        for (int t = 0; t < steps; t++)
        {
            for (int k = 0; k < classes; k++) posteriors[t, k] = _posteriors[t][k];
            bounds[t, 0] = _bounds[t][0];
            bounds[t, 1] = _bounds[t][1];
        }
        var ran = new bool[modules, _ran.Count];
        for (int j = 0; j < _ran.Count; j++)
            for (int mi = 0; mi < modules; mi++) ran[mi, j] = _ran[j][mi];
        return new StreamOutput(posteriors, bounds, ran, StepSeconds);
    }

    /// <summary>
    /// Runs <paramref name="model"/> over raw log-mel features (mels, frames) of a whole recording, pushed
    /// <paramref name="chunkFrames"/> frames at a time (as a microphone would deliver them).
    /// </summary>
    public static StreamOutput Run(ConformerSpotter model, Tensor features, int chunkFrames = 16)
    {
        if (chunkFrames < 1) throw new InvalidSettingsException($"A chunk holds at least one frame (got {chunkFrames}).");
        if (features.dim() != 2 || features.shape[1] < model.Config.FramesPerGate)
            throw new InvalidSettingsException(
                $"The stream has {(features.dim() == 2 ? features.shape[1] : 0)} frames, shorter than one gate block ({model.Config.FramesPerGate} frames of 10 ms): give a longer recording.");
        using var stream = model.Stream();
        for (long start = 0; start < features.shape[1]; start += chunkFrames)
        {
            using var scope = NewDisposeScope();
            stream.Push(features.narrow(1, start, Math.Min(chunkFrames, features.shape[1] - start)));
        }
        return stream.Output();
    }

    /// <summary>Frees the caches.</summary>
    public void Dispose()
    {
        foreach (var a in _attention) a.Dispose();
        foreach (var c in _convolution) c.Dispose();
        foreach (var t in _gateHistory.SelectMany(h => h)) t.Dispose();
        _pending.Dispose();
    }
}
