using System.Text.Json.Serialization;

namespace EfficientML.Benchmarks;

/// <summary>One measured figure, optionally as a ratio against a baseline measured in the same run.</summary>
public sealed record Measurement(
    string Name,
    double Value,
    string Unit,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Baseline = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Ratio = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);
