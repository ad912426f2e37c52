using Microsoft.DotNet.Interactive.Documents;

namespace NotebookRunner;

/// <summary>Where a cell got to.</summary>
internal enum CellState
{
    NotRun,
    Succeeded,
    Failed,
}

/// <summary>One cell of a run: its source, and what executing it produced.</summary>
internal sealed class CellRecord(InteractiveDocumentElement element, int? number)
{
    public InteractiveDocumentElement Element { get; } = element;

    /// <summary>1-based position in the notebook as written; null for the injected parameters cell.</summary>
    public int? Number { get; } = number;

    public bool IsInjected => Number is null;

    public bool IsMarkdown => NotebookFile.IsMarkdown(Element);

    public bool IsCode => !IsMarkdown;

    public string Code => Element.Contents;

    public string KernelName => string.IsNullOrEmpty(Element.KernelName) ? "csharp" : Element.KernelName;

    public CellState State { get; set; }

    public int ExecutionCount { get; set; }

    public TimeSpan Duration { get; set; }

    public List<CellOutput> Outputs { get; } = [];

    public string? ErrorMessage { get; set; }

    /// <summary>How messages name the cell: "cell 5" (as numbered in the notebook) or "injected parameters".</summary>
    public string Label => Number is { } n ? $"cell {n}" : "injected parameters";

    public string Anchor => Number is { } n ? $"cell-{n}" : "injected-parameters";

    /// <summary>The first non-blank, non-comment line of code, shortened, to recognise the cell by.</summary>
    public string FirstLine
    {
        get
        {
            var lines = Code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            var line = lines.FirstOrDefault(l => !l.StartsWith("//", StringComparison.Ordinal)) ?? lines.FirstOrDefault() ?? "";
            return line.Length <= 70 ? line : line[..67] + "...";
        }
    }
}
