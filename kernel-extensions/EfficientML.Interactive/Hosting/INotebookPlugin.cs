namespace EfficientML.Interactive;

/// <summary>
/// One technique's face in a notebook: the formatters that draw its results and the magic commands that run it.
/// <see cref="NotebookExtension.Load"/> finds every implementation in this assembly, so a new technique adds one class
/// in its own folder and edits nothing shared.
/// </summary>
public interface INotebookPlugin
{
    /// <summary>Where its magics come in the loaded banner and in listings (smaller first).</summary>
    int Order { get; }

    /// <summary>Registers the HTML formatters of its result types (process-wide; called once per process).</summary>
    void RegisterFormatters(FormatterSet formatters);

    /// <summary>Adds its magic commands to one notebook (once per notebook).</summary>
    void AddMagics(MagicSet magics);
}
