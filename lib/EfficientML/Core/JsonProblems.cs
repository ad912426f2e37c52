using System.Text.Json;

namespace EfficientML.Core;

/// <summary>
/// What is wrong with a piece of JSON a file carries (a configuration, a header), in words a user can act on. The
/// serializer's own messages name .NET types and reader positions ("could not be converted to System.Int32. Path: $.Dim |
/// LineNumber: 0"), which mean nothing to someone holding a model file.
/// </summary>
public static class JsonProblems
{
    /// <summary>One phrase for <paramref name="e"/>: where (the field, when known) and what kind of problem.</summary>
    public static string Describe(Exception e)
    {
        var where = e is JsonException { Path: { Length: > 1 } path } ? $" at field {path.TrimStart('$', '.')}" : "";
        var text = e.Message;
        string what =
            text.Contains("could not be converted", StringComparison.Ordinal) || text.Contains("requires an element of type", StringComparison.Ordinal)
                ? "a value of the wrong kind (text where a number belongs, a number where true/false belongs, a list where one value belongs …)"
            : text.Contains("same key", StringComparison.Ordinal) || text.Contains("Duplicate", StringComparison.OrdinalIgnoreCase)
                ? "a field given twice"
            : text.Contains("UTF-8", StringComparison.Ordinal) || text.Contains("transcode", StringComparison.Ordinal)
                ? "bytes that are not UTF-8 text"
            : e is JsonException { BytePositionInLine: long at }
                ? $"a syntax error or an early end near byte {at}"
            : "text that is not the JSON expected";
        return $"{what}{where}";
    }
}
