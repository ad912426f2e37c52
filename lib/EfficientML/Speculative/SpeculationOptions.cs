using EfficientML.Core;
using EfficientML.Models;

namespace EfficientML.Speculative;

/// <summary>How speculative decoding drafts, verifies and picks tokens.</summary>
public sealed record SpeculationOptions
{
    /// <summary>Tokens to produce after the prompt.</summary>
    public int MaxNewTokens { get; init; } = 100;

    /// <summary>Draft tokens per round (γ): the first round's when <see cref="AdaptiveGamma"/> is on.</summary>
    public int Gamma { get; init; } = 4;

    /// <summary>Grow γ by 2 after a round whose drafts were all accepted, shrink it by 1 after a rejection (within 1..<see cref="MaxGamma"/>).</summary>
    public bool AdaptiveGamma { get; init; }

    /// <summary>Largest γ the adaptive rule may reach.</summary>
    public int MaxGamma { get; init; } = 8;

    /// <summary>0: greedy (output equals plain greedy decoding). Above 0: sampling with the rejection rule, whose output follows the target's distribution exactly.</summary>
    public double Temperature { get; init; }

    /// <summary>When above 0 (sampling only), both distributions are restricted to their k most likely tokens.</summary>
    public int TopK { get; init; }

    /// <summary>Seed of the sampler and of the acceptance draws (never touches the global random stream).</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Stop after producing this token.</summary>
    public int? StopToken { get; init; }

    /// <summary>The same picking rule as plain decoding uses, for the baseline run.</summary>
    public GenerationOptions AsGeneration() => new()
    {
        MaxNewTokens = MaxNewTokens, Temperature = Temperature, TopK = TopK, Seed = Seed, StopToken = StopToken, UseCache = true,
    };

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public SpeculationOptions Validate(TinyGptConfig config)
    {
        if (Gamma < 1) throw new InvalidSettingsException($"γ (draft tokens per round) must be at least 1, not {Gamma}.");
        if (MaxGamma < 1) throw new InvalidSettingsException($"The largest γ must be at least 1, not {MaxGamma}.");
        if (AdaptiveGamma && Gamma > MaxGamma)
            throw new InvalidSettingsException($"The starting γ {Gamma} exceeds the largest γ {MaxGamma}; raise MaxGamma or lower Gamma.");
        if (Gamma >= config.ContextLength)
            throw new InvalidSettingsException($"γ must be below the context length {config.ContextLength}, not {Gamma}.");
        AsGeneration().Validate(config);
        return this;
    }
}
