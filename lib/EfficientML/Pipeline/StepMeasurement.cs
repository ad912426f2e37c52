namespace EfficientML.Pipeline;

/// <summary>One invariant re-checked on the composed model after a step.</summary>
/// <param name="Name">What is checked, e.g. "grown model equals the original".</param>
/// <param name="Passed">Whether it held.</param>
/// <param name="Detail">The measured figure behind the verdict.</param>
public sealed record InvariantCheck(string Name, bool Passed, string Detail);

/// <summary>
/// What one step produced, measured the same way after every step on the same validation windows and prompts.
/// </summary>
/// <param name="Step">The step's name ("start" for the model before any step).</param>
/// <param name="Summary">One line of what the step did.</param>
/// <param name="ValidationBits">Validation loss in bits per byte (routed models at the θ picked).</param>
/// <param name="DiskBytes">Bytes of every file the deployed model needs (target or palettes, routers, draft or accelerators).</param>
/// <param name="Parameters">Parameters of the deployed model (the same parts).</param>
/// <param name="PeakResidentBytes">Most resident memory of the process while the step ran (not while it was measured).</param>
/// <param name="MlpMultiplyAddsPerToken">MLP multiply-adds per token of the target (routers included once routed).</param>
/// <param name="DecodeTokensPerSecond">Tokens per second of the deployed decoder on the measurement prompts (prefill included).</param>
/// <param name="DecodeSpeedUp">That speed over plain decoding of the starting model, timed alternately in the same measurement.</param>
/// <param name="Decoder">The decoder timed.</param>
/// <param name="Seconds">Wall-clock time of the step itself.</param>
/// <param name="TokensTrained">Tokens the step trained on (0 for steps that do not train).</param>
/// <param name="StartAgreement">Share of validation positions where the starting model's greedy choice equals the target's (what it would get accepted as a draft).</param>
/// <param name="DraftAgreement">The same for the separate draft model, once made.</param>
/// <param name="Invariants">The invariants re-checked by this step.</param>
/// <param name="Notes">What could not be done and why, and other remarks.</param>
public sealed record StepMeasurement(
    string Step, string Summary, double ValidationBits, long DiskBytes, long Parameters, long PeakResidentBytes,
    double MlpMultiplyAddsPerToken, double DecodeTokensPerSecond, double DecodeSpeedUp, string Decoder,
    double Seconds, long TokensTrained, double StartAgreement, double? DraftAgreement,
    IReadOnlyList<InvariantCheck> Invariants, IReadOnlyList<string> Notes)
{
    /// <summary>Whether every invariant of the step held.</summary>
    public bool InvariantsHold => Invariants.All(i => i.Passed);
}

/// <summary>What a step's own work returns to the pipeline, before the pipeline measures the model.</summary>
/// <param name="Summary">One line of what was done.</param>
/// <param name="TokensTrained">Tokens trained on.</param>
/// <param name="Invariants">Invariants checked.</param>
/// <param name="Notes">Remarks (what was skipped and why).</param>
public sealed record StepWork(string Summary, long TokensTrained, IReadOnlyList<InvariantCheck> Invariants, IReadOnlyList<string> Notes);

/// <summary>What one step traded, against the measurement before it.</summary>
/// <param name="Step">The step.</param>
/// <param name="BitsChange">Change of validation bits per byte (negative: better).</param>
/// <param name="BytesRatio">Bytes on disk over the step before's.</param>
/// <param name="ComputeRatio">MLP multiply-adds per token over the step before's.</param>
/// <param name="SpeedRatio">Decoding speed-up over the step before's (both against the start, so this is their ratio).</param>
/// <param name="Seconds">The step's own time.</param>
/// <param name="TokensTrained">Tokens the step trained on.</param>
public sealed record StepTrade(string Step, double BitsChange, double BytesRatio, double ComputeRatio, double SpeedRatio, double Seconds, long TokensTrained)
{
    /// <summary>One trade per step: each measurement against the one before it.</summary>
    public static IReadOnlyList<StepTrade> Between(IReadOnlyList<StepMeasurement> measurements) =>
        measurements.Zip(measurements.Skip(1), (a, b) => new StepTrade(b.Step, b.ValidationBits - a.ValidationBits, (double)b.DiskBytes / a.DiskBytes,
            b.MlpMultiplyAddsPerToken / a.MlpMultiplyAddsPerToken, b.DecodeSpeedUp / a.DecodeSpeedUp, b.Seconds, b.TokensTrained)).ToList();
}
