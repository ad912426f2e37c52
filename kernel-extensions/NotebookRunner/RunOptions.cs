namespace NotebookRunner;

/// <summary>Which kernel executes the cells.</summary>
internal enum BackendKind
{
    /// <summary>A C# kernel inside this process: fast, the default.</summary>
    InProcess,

    /// <summary>The real dotnet-interactive tool over stdio, as VS Code runs it.</summary>
    Tool,
}

/// <summary>Settings of one runner invocation.</summary>
/// <param name="OutputDirectory">Where the executed .ipynb and .html go.</param>
/// <param name="Parameters">--param values in command-line order.</param>
/// <param name="Backend">The execution back end.</param>
/// <param name="CellTimeout">Longest a single cell may run; null for no limit.</param>
internal sealed record RunOptions(
    string OutputDirectory,
    IReadOnlyList<KeyValuePair<string, string>> Parameters,
    BackendKind Backend = BackendKind.InProcess,
    TimeSpan? CellTimeout = null)
{
    /// <summary>Generous, so that full (non-quick) training cells fit; a hung cell still ends the run.</summary>
    public static readonly TimeSpan DefaultCellTimeout = TimeSpan.FromMinutes(15);
}
