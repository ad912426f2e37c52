namespace NotebookRunner;

/// <summary>Error messages shortened for the console and the page banner; the full text stays in the cell output.</summary>
internal static class ErrorText
{
    /// <summary>The message without its stack frames (the script host's frames say nothing to a reader), at most 8 lines.</summary>
    public static string Summary(string message)
    {
        var lines = message.Replace("\r\n", "\n").Split('\n')
                           .TakeWhile(l => !l.TrimStart().StartsWith("at ", StringComparison.Ordinal) &&
                                           !l.StartsWith("--- End of", StringComparison.Ordinal))
                           .ToList();
        if (lines.Count == 0)
        {
            lines.Add(message.Split('\n')[0]);
        }

        return lines.Count <= 8 ? string.Join("\n", lines).TrimEnd() : string.Join("\n", lines.Take(8)) + "\n…";
    }
}
