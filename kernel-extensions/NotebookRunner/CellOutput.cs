namespace NotebookRunner;

/// <summary>What kind of output a cell produced.</summary>
internal enum OutputKind
{
    Display,
    ReturnValue,
    StandardOutput,
    StandardError,
    Error,
}

/// <summary>One formatted representation of a value.</summary>
internal sealed record MimeValue(string MimeType, string Value);

/// <summary>
/// One output of a cell, in every format the kernel produced. <see cref="ValueId"/> links a display to its later
/// updates (<c>DisplayedValue.Update</c>), which replace it in place.
/// </summary>
internal sealed record CellOutput(OutputKind Kind, IReadOnlyList<MimeValue> Data, string? ValueId = null)
{
    public static CellOutput Text(OutputKind kind, string text) => new(kind, [new MimeValue("text/plain", text)]);

    public string? Get(string mimeType) => Data.FirstOrDefault(d => d.MimeType == mimeType)?.Value;

    public string PlainText => Get("text/plain") ?? string.Join("\n", Data.Select(d => d.Value));
}

/// <summary>Receives a running cell's outputs as they arrive (from any thread).</summary>
internal interface ICellOutputSink
{
    void Add(CellOutput output);

    /// <summary>Replaces the earlier output with the same value id (appends when there is none).</summary>
    void Update(CellOutput output);
}

/// <summary>How a cell ended.</summary>
internal sealed record CellOutcome(bool Succeeded, string? ErrorMessage = null)
{
    public static readonly CellOutcome Success = new(true);

    public static CellOutcome Failure(string message) => new(false, message);
}
