using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>
/// Registers HTML formatters. Registrations are process-wide, so each is added only when no HTML formatter for that type
/// is registered yet: loading twice adds nothing, and a reset of the formatters is repaired by a reload.
/// </summary>
public sealed class FormatterSet
{
    internal FormatterSet() { }

    /// <summary>Draws every <typeparamref name="T"/> (and, for a sequence type, every list or array of it) with <paramref name="render"/>.</summary>
    public FormatterSet Add<T>(Func<T, string> render)
    {
        bool registered = Formatter.RegisteredFormatters(includeDefaults: false)
            .Any(f => f.Type == typeof(T) && f.MimeType == HtmlFormatter.MimeType);
        if (registered) return this;
        Formatter.Register<T>((value, writer) => writer.Write(render(value)), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(T), HtmlFormatter.MimeType);
        return this;
    }
}
