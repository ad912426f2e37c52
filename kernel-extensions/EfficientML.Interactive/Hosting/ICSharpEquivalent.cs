namespace EfficientML.Interactive;

/// <summary>
/// A magic's C# equivalent. Every magic's command class (the options it binds) implements this in the magic's own file,
/// so that a tutorial exported as a script (<c>NotebookRunner export --to script</c>) replaces each magic line by the C#
/// the notebook shows beside it: <see cref="ToCSharp"/> turns the parsed options into statements that declare the same
/// C# variables (<c>--name</c>, <c>--report</c>, <c>--run</c> …), follow the notebook's <c>quick</c> variable as the magic
/// does, and <c>display(…)</c> what the magic shows. Options it cannot translate are refused with a
/// <see cref="MagicException"/> that names them; a command class without this interface cannot be exported at all.
/// </summary>
public interface ICSharpEquivalent
{
    /// <summary>The statements (one or more lines, no trailing newline) that do what the magic line does.</summary>
    string ToCSharp();
}
