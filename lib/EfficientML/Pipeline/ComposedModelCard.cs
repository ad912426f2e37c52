using System.Globalization;
using System.Text;

namespace EfficientML.Pipeline;

/// <summary>
/// The composed model in one card: what it is (the steps and their settings), what it costs (bytes, parameters, MLP
/// compute, the pipeline's time and tokens) and what it scores (quality and speed), each against the starting model.
/// </summary>
/// <param name="Description">What the model is, in one sentence.</param>
/// <param name="Start">The starting model's measurement.</param>
/// <param name="Final">The last step's measurement.</param>
/// <param name="Seconds">Time of all steps together.</param>
/// <param name="TokensTrained">Tokens trained on by all steps together.</param>
/// <param name="InvariantsPassed">Invariants that held.</param>
/// <param name="InvariantsChecked">Invariants checked.</param>
public sealed record ComposedModelCard(string Description, StepMeasurement Start, StepMeasurement Final, double Seconds, long TokensTrained,
    int InvariantsPassed, int InvariantsChecked)
{
    /// <summary>Bits per byte gained (negative) or lost (positive) against the starting model.</summary>
    public double BitsChange => Final.ValidationBits - Start.ValidationBits;

    /// <summary>Bytes on disk over the starting model's.</summary>
    public double SizeRatio => (double)Final.DiskBytes / Start.DiskBytes;

    /// <summary>MLP compute per token over the starting model's.</summary>
    public double ComputeRatio => Final.MlpMultiplyAddsPerToken / Start.MlpMultiplyAddsPerToken;

    internal static ComposedModelCard From(PipelineState state, IReadOnlyList<StepMeasurement> measurements)
    {
        var c = state.Target.Config;
        var parts = new List<string> { $"a {c.Layers}-layer, width-{c.Dim} TinyGpt" };
        if (state.Done.Contains("grow")) parts.Add($"grown from {state.Start.Config.Layers} × {state.Start.Config.Dim} by HyperCloning");
        if (state.Done.Contains("train")) parts.Add("trained briefly");
        if (state.Routed is not null) parts.Add($"routed (DynaMoE) at θ = {state.Theta!.Value.ToString("0.##", CultureInfo.InvariantCulture)}");
        if (state.Palettized is not null) parts.Add($"palettised to {state.Palettized.Size.BitsPerPalettizedWeight.ToString("0.00", CultureInfo.InvariantCulture)} bits per clustered weight");
        parts.Add(state.Decoder is null ? "decoded greedily" : $"decoded speculatively ({state.DecoderName})");
        if (state.OnnxPath is not null) parts.Add("exported to ONNX");
        var steps = measurements.Skip(1).ToList();
        return new ComposedModelCard(string.Join(", ", parts), measurements[0], measurements[^1], steps.Sum(m => m.Seconds), steps.Sum(m => m.TokensTrained),
            measurements.Sum(m => m.Invariants.Count(i => i.Passed)), measurements.Sum(m => m.Invariants.Count));
    }

    /// <summary>The card as plain text.</summary>
    public override string ToString()
    {
        var i = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine($"Composed model: {Description}.");
        text.AppendLine(string.Create(i, $"Quality: {Final.ValidationBits:0.000} bits per byte (start {Start.ValidationBits:0.000}, {BitsChange:+0.000;-0.000})."));
        text.AppendLine(string.Create(i, $"Size: {Final.DiskBytes:N0} bytes on disk ({SizeRatio:0.00}× the start), {Final.Parameters:N0} parameters."));
        text.AppendLine(string.Create(i, $"Compute: {Final.MlpMultiplyAddsPerToken:N0} MLP multiply-adds per token ({ComputeRatio:0.00}× the start)."));
        text.AppendLine(string.Create(i, $"Speed: {Final.DecodeTokensPerSecond:0} tokens/s with {Final.Decoder}, {Final.DecodeSpeedUp:0.00}× the start's plain decoding."));
        text.Append(string.Create(i, $"Cost: {Seconds:0.0} s and {TokensTrained:N0} training tokens; invariants {InvariantsPassed} of {InvariantsChecked} held."));
        return text.ToString();
    }
}
