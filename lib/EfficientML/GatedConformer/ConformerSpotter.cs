using EfficientML.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientML.GatedConformer;

/// <summary>
/// What the model computed for a batch: per-step class logits (B, T, classes), per-step keyword bounds (B, T, 2) — steps
/// back to the keyword's start and on to its end, divided by 10 — and, per gated module and gate block, whether the
/// module ran, <see cref="Ran"/> (B, modules, J) 0/1, and the gate's probability of running it (null when nothing is gated).
/// </summary>
public sealed record ConformerOutput(Tensor Logits, Tensor Bounds, Tensor Ran, Tensor? RunProbability)
{
    /// <summary>The gates' logits behind <see cref="RunProbability"/>, (B, gated modules, J), or null when nothing is gated.</summary>
    public Tensor? RunLogit { get; init; }
}

/// <summary>
/// One conformer block: x + ½·FF(x), + attention, + convolution, + ½·FF, then LayerNorm; with a gate before each of the
/// four modules.
/// </summary>
public sealed class GatedConformerBlock : nn.Module
{
    public readonly FeedForwardModule feedForwardIn, feedForwardOut;
    public readonly BoundedSelfAttention attention;
    public readonly CausalConvolutionModule convolution;
    public readonly LayerNorm final;
    public readonly ModuleList<ModuleGate> gates;

    public GatedConformerBlock(GatedConformerConfig c) : base(nameof(GatedConformerBlock))
    {
        feedForwardIn = new FeedForwardModule(c.Width, c.FeedForwardWidth);
        attention = new BoundedSelfAttention(c.Width, c.Heads, c.AttentionContext);
        convolution = new CausalConvolutionModule(c.Width, c.ConvKernel);
        feedForwardOut = new FeedForwardModule(c.Width, c.FeedForwardWidth);
        final = nn.LayerNorm(c.Width);
        gates = c.Gated ? nn.ModuleList(Enumerable.Range(0, 4).Select(_ => new ModuleGate(c.Width, c.GateHidden, c.GateContext)).ToArray()) : nn.ModuleList<ModuleGate>();
        RegisterComponents();
    }

    /// <summary>The module of kind <paramref name="kind"/>.</summary>
    public ConformerModule Module(ConformerModuleKind kind) => kind switch
    {
        ConformerModuleKind.FeedForwardIn => feedForwardIn,
        ConformerModuleKind.Attention => attention,
        ConformerModuleKind.Convolution => convolution,
        _ => feedForwardOut,
    };

    /// <summary>The whole sequence x: (B, T, d) → (B, T, d); the gates' decisions go into <paramref name="decisions"/>.</summary>
    internal Tensor Forward(Tensor x, GateDecisions decisions)
    {
        var ran = decisions.Decide(Gate(0), x);
        x = x + Scaled(feedForwardIn.Forward(x), ran, 0.5);
        ran = decisions.Decide(Gate(1), x);
        x = x + Scaled(attention.Forward(x, ran?.squeeze(-1).gt(0.5)), ran, 1);
        ran = decisions.Decide(Gate(2), x);
        x = x + Scaled(convolution.Forward(x, ran), ran, 1);
        ran = decisions.Decide(Gate(3), x);
        x = x + Scaled(feedForwardOut.Forward(x), ran, 0.5);
        return final.forward(x);
    }

    ModuleGate? Gate(int module) => gates.Count == 0 ? null : gates[module];

    static Tensor Scaled(Tensor branch, Tensor? ran, double scale)
    {
        var scaled = scale == 1 ? branch : branch.mul(scale);
        return ran is null ? scaled : scaled.mul(ran);
    }
}

/// <summary>
/// A streaming conformer keyword spotter with gated modules (reconstruction of "dynamic-depth conformer keyword spotting
/// with binary gates"): log-mel frames (B, mels, frames) → steps of <see cref="GatedConformerConfig.StackFrames"/>
/// frames → conformer blocks whose modules a gate may skip per gate block → per-step keyword logits and keyword bounds.
/// Attention sees a bounded past and the convolution is causal, so <see cref="Stream"/> computes the same numbers chunk
/// by chunk, and there a skipped module does not run at all.
/// </summary>
public sealed class ConformerSpotter : nn.Module
{
    public readonly Linear input, classifier, bounds;
    public readonly ModuleList<GatedConformerBlock> blocks;
    /// <summary>Per-band mean and 1/std of the training features, (mels), applied before the first layer.</summary>
    public readonly Tensor featureMean, featureScale;

    public ConformerSpotter(GatedConformerConfig config) : base(nameof(ConformerSpotter))
    {
        Config = config.Validate();
        input = nn.Linear(config.Mels * config.StackFrames, config.Width);
        blocks = nn.ModuleList(Enumerable.Range(0, config.Blocks).Select(_ => new GatedConformerBlock(config)).ToArray());
        classifier = nn.Linear(config.Width, config.Classes);
        bounds = nn.Linear(config.Width, 2);
        featureMean = zeros(config.Mels);
        featureScale = ones(config.Mels);
        RegisterComponents();
    }

    /// <summary>The sizes.</summary>
    public GatedConformerConfig Config { get; }

    /// <summary>What the gates do (ignored when the model has none).</summary>
    public GateMode Gating { get; set; } = GateMode.Learned;

    double _gateThreshold = 0.5;
    float _gateLogitThreshold;                                                        // 0, the logit of 0.5

    /// <summary>
    /// Outside training, a learned gate runs its module when its probability of running is above this, 0 … 1 exclusive
    /// (default 0.5): lower runs more modules, higher skips more. Training samples the gates and ignores it.
    /// </summary>
    public double GateThreshold
    {
        get => _gateThreshold;
        set
        {
            if (!(value > 0 && value < 1)) throw new InvalidSettingsException($"The gate threshold is a probability between 0 and 1 (got {value}).");
            _gateThreshold = value;
            _gateLogitThreshold = (float)Math.Log(value / (1 - value));
        }
    }

    /// <summary><see cref="GateThreshold"/> as a logit, worked out when it is set: a gate runs its module when its logit is above this.</summary>
    internal float GateLogitThreshold => _gateLogitThreshold;

    /// <summary>Parameter count.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>The modules of every block in gate order: block 0's four, then block 1's, …</summary>
    public IReadOnlyList<ConformerModule> GatedModules =>
        blocks.SelectMany(b => Enum.GetValues<ConformerModuleKind>().Select(b.Module)).ToList();

    /// <summary>Sets the feature normalisation from training log-mel features (N, mels, frames).</summary>
    public void SetFeatureStatistics(Tensor features)
    {
        using var noGrad = no_grad();
        var perBand = features.transpose(0, 1).reshape(Config.Mels, -1);
        featureMean.copy_(perBand.mean([1]));
        featureScale.copy_(perBand.std(1).clamp_min(1e-3).reciprocal());
    }

    /// <summary>
    /// Raw log-mel frames (B, mels, frames) → input steps (B, T, d), T = frames / StackFrames rounded down to whole gate
    /// blocks (a stream waits for a whole gate block before it computes anything).
    /// </summary>
    public Tensor Steps(Tensor features)
    {
        if (features.dim() != 3 || features.shape[1] != Config.Mels)
            throw new InvalidSettingsException($"Give log-mel features as (batch, {Config.Mels} mels, frames), not [{string.Join(", ", features.shape)}].");
        long usable = features.shape[2] / Config.FramesPerGate * Config.FramesPerGate;
        if (usable == 0)
            throw new InvalidSettingsException($"The input has {features.shape[2]} frames, fewer than one gate block ({Config.FramesPerGate} frames of 10 ms): give a longer stream.");
        var x = features.narrow(2, 0, usable).sub(featureMean.view(1, -1, 1)).mul(featureScale.view(1, -1, 1));
        var stacked = x.transpose(1, 2).reshape(features.shape[0], usable / Config.StackFrames, Config.StackFrames * Config.Mels);
        return input.forward(stacked);                                               // (B, T, d)
    }

    /// <summary>
    /// The whole sequence at once (training, and the reference for <see cref="Stream"/>): skipped modules are computed and
    /// multiplied by zero here, with the same masks a stream uses. In training mode the gates sample (straight-through
    /// Gumbel-sigmoid, seeded by <paramref name="generator"/>), and with <paramref name="gateDropout"/> each gate block's
    /// decision is also forced to skip with that probability (structured dropout, so the model learns to do without any one
    /// module); in eval mode the gates decide by the sign of their logit.
    /// </summary>
    public ConformerOutput Forward(Tensor features, Generator? generator = null, double gateDropout = 0)
    {
        if (!(gateDropout >= 0 && gateDropout < 1)) throw new InvalidSettingsException($"Gate dropout is a probability below 1 (got {gateDropout}).");
        var x = Steps(features);
        var decisions = new GateDecisions(Config, Config.Gated ? Gating : GateMode.Keep, training, generator, training ? gateDropout : 0, GateLogitThreshold);
        foreach (var block in blocks) x = block.Forward(x, decisions);
        var logit = decisions.Logit();
        return new ConformerOutput(classifier.forward(x), bounds.forward(x), decisions.Ran(), logit?.sigmoid()) { RunLogit = logit };
    }

    /// <summary>A stream over this model (eval-mode arithmetic, no gradients), starting with an empty past.</summary>
    public ConformerStream Stream() => new(this);
}

/// <summary>The gates' decisions over one whole-sequence forward pass, module by module.</summary>
internal sealed class GateDecisions(GatedConformerConfig config, GateMode mode, bool training, Generator? generator, double dropout, float threshold)
{
    readonly List<Tensor> _ran = [], _logit = [];

    /// <summary>
    /// Whether each step runs the module whose input is x (B, T, d): (B, T, 1) 0/1, or null when every step runs. In
    /// training the value carries the gradient of the gate's sampled probability (straight-through).
    /// </summary>
    public Tensor? Decide(ModuleGate? gate, Tensor x)
    {
        long b = x.shape[0], t = x.shape[1], j = t / config.GateSteps;
        if (gate is null || mode == GateMode.Keep)
        {
            _ran.Add(ones(b, j, device: x.device));
            return null;
        }
        if (mode == GateMode.Skip)
        {
            var none = zeros(b, j, device: x.device);
            _ran.Add(none);
            return Expand(none, t);
        }
        var logit = gate.forward(GateInput.Of(x, config.GateSteps, config.GateContext)); // (B, J)
        _logit.Add(logit);
        Tensor ran;
        if (training)
        {
            var u = rand(logit.shape, generator: generator, device: x.device).clamp(1e-6, 1 - 1e-6);
            var noisy = logit + u.log() - (1 - u).log();                             // logistic noise: a Gumbel-sigmoid sample
            var soft = noisy.sigmoid();
            ran = noisy.gt(0).to_type(ScalarType.Float32) + soft - soft.detach();   // hard forward, sigmoid gradient
            if (dropout > 0)                                                         // forced skips carry no gradient to the gate
                ran = ran.mul(rand(logit.shape, generator: generator, device: x.device).ge(dropout).to_type(ScalarType.Float32));
        }
        else ran = logit.gt(threshold).to_type(ScalarType.Float32);
        _ran.Add(ran.detach());
        return Expand(ran, t);
    }

    static Tensor Expand(Tensor perBlock, long steps) =>                            // (B, J) → (B, T, 1)
        perBlock.unsqueeze(-1).expand(perBlock.shape[0], perBlock.shape[1], steps / perBlock.shape[1]).reshape(perBlock.shape[0], steps, 1);

    /// <summary>(B, modules, J).</summary>
    public Tensor Ran() => stack(_ran, 1);

    /// <summary>(B, gated modules, J), or null when no gate decided.</summary>
    public Tensor? Logit() => _logit.Count == 0 ? null : stack(_logit, 1);
}
