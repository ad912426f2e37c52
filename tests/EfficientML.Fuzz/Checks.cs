using System.Text.RegularExpressions;

namespace EfficientML.Fuzz;

/// <summary>What a file is: valid (must load), a detectable corruption (must be refused) or an undetectable one (may load).</summary>
public enum FileLabel { Valid, Detectable, Undetectable }

/// <summary>One thing that broke: its class (e.g. "message: stack frame"), the input, and what was seen.</summary>
public sealed record Violation(string Class, string Target, string Input, string Detail, string? Message = null);

/// <summary>
/// The rules the fuzzers apply. Pure functions, so the checker itself is unit-tested (<c>CheckerTests</c>): a harness
/// whose checks cannot fail finds nothing.
/// </summary>
public static class Checks
{
    /// <summary>Text that must never reach a user's eyes in an error message, with the class it belongs to.</summary>
    static readonly (string Class, Regex Pattern)[] Wording =
    [
        ("stack frame", new Regex(@"(^|\n)\s*at \S+\(|   at ", RegexOptions.CultureInvariant)),
        // Native frames: gdb/libtorch frame lists, shared objects, C++ source locations and signatures.
        ("native frame", new Regex(@"frame #\d*|\.so\b|\b[\w/]+\.(cc|cpp|cxx|hpp|h):\d+|\b\w+::\w+(::\w+)*\(", RegexOptions.CultureInvariant)),
        (".NET type name", new Regex(@"Exception|System\.", RegexOptions.CultureInvariant)),
        ("parameter suffix", new Regex(@"\(Parameter '", RegexOptions.CultureInvariant)),
        ("parser code", new Regex(@"DNI\d*", RegexOptions.CultureInvariant)),
        // A native runtime's own status codes (ONNX Runtime's, an errno) say nothing a user can act on.
        ("native error code", new Regex(@"\[ErrorCode:\w*\]|\[ONNXRuntimeError\]|system error number \d+", RegexOptions.CultureInvariant)),
        (".NET message", new Regex(
            @"Object reference not set to an instance|Index was outside the bounds|Sequence contains no|Sequence contains more than one|" +
            @"Specified argument was out of the range|Value cannot be null|Input string was not in a correct format|" +
            @"Arithmetic operation resulted in an overflow|Attempted to divide by zero|The given key .* was not present|" +
            @"Unable to cast object of type|Nullable object must have a value|Collection was modified|" +
            @"must be non-negative and less than the size|An element of type '|cannot be converted to a '|" +
            @"The requested operation requires an element of type|The node must be of type|Unable to read beyond the end of the stream|" +
            @"Array dimensions exceeded supported range|Insufficient memory to continue|An item with the same key has already been added|" +
            @"The JSON value could not be converted to|Path: \$|LineNumber: \d|BytePositionInLine|Cannot transcode invalid UTF-8|" +
            @"is an invalid start of a value|Too many levels of symbolic links",
            RegexOptions.CultureInvariant)),
        // A C# record's ToString ("TinyGptConfig { VocabSize = 256, … }") is a debugging view, not a sentence.
        // (An object initializer in a C# example, "new RepCnnConfig { Classes = 16 }", is not one.)
        (".NET record text", new Regex(@"(?<!new )\b[A-Z]\w+ \{ [A-Z]\w* = ", RegexOptions.CultureInvariant)),
    ];

    /// <summary>The wording problems of one failure message ("message: stack frame" …), each with the text that matched; empty when clean.</summary>
    public static IReadOnlyList<(string Class, string Match)> MessageProblems(string? message)
    {
        if (string.IsNullOrWhiteSpace(message)) return [("message: empty", "")];
        var problems = new List<(string, string)>();
        foreach (var (name, pattern) in Wording)
            if (pattern.Match(message) is { Success: true } m)
                problems.Add(($"message: {name}", m.Value.Trim()));
        return problems;
    }

    /// <summary>True when <paramref name="input"/> contains text the wording rules flag (it would come back in an echo and look like a defect).</summary>
    public static bool EchoWouldTrip(string input) => Wording.Any(w => w.Pattern.IsMatch(input));

    /// <summary>
    /// .NET Interactive reads a value written <c>@name</c> from the kernel's variable <c>name</c> while it parses the
    /// cell, before any magic runs; when there is none it answers with its own coded message (DNI202), which the extension
    /// cannot reach. That one message is the kernel's, not a magic's.
    /// </summary>
    static readonly Regex KernelValueReference = new(@"^\(\d+,\d+\): error DNI202: Value '[^']*' not found in kernel \w+$", RegexOptions.CultureInvariant);

    /// <summary>What one magic submission did, as the worker and the parent's sampling saw it.</summary>
    public sealed record SubmissionOutcome
    {
        public bool Completed { get; init; }
        public bool TimedOut { get; init; }
        /// <summary>After a Cancel: did the cell end within the probe timeout.</summary>
        public bool EndedAfterCancel { get; init; } = true;
        public IReadOnlyList<string> Failures { get; init; } = [];
        public bool ProbeOk { get; init; } = true;
        public string? ProbeProblem { get; init; }
        public IReadOnlyList<string> NewVariables { get; init; } = [];
        public IReadOnlyList<string> NewModels { get; init; } = [];
        public long PeakRssBytes { get; init; }
        public long MemoryBudgetBytes { get; init; } = long.MaxValue;
        public bool Crashed { get; init; }
        public string? CrashDetail { get; init; }
        /// <summary>Null when the process went idle in time; else what was measured.</summary>
        public string? BusyAfterEnd { get; init; }
    }

    /// <summary>The violations of one magic submission (rules 1–5 of the fuzzer).</summary>
    public static IReadOnlyList<Violation> Submission(string magic, string input, SubmissionOutcome o)
    {
        var v = new List<Violation>();
        if (o.Crashed) v.Add(new("crash", magic, input, o.CrashDetail ?? "the kernel process ended"));
        if (o.TimedOut)
            v.Add(new("hang", magic, input, $"no answer within {FuzzMode.SubmissionTimeout.TotalSeconds:0} s; Cancel sent" +
                                            (o.EndedAfterCancel ? ", the cell then ended" : ", and the cell had not ended 10 s later")));
        if (!o.Crashed && !o.ProbeOk) v.Add(new("kernel blocked", magic, input, o.ProbeProblem ?? "1 + 1 did not answer 2 within 10 s"));
        foreach (var message in o.Failures.Distinct().Where(m => !KernelValueReference.IsMatch(m)))
            foreach (var (cls, match) in MessageProblems(message))
                v.Add(new(cls, magic, input, $"matched '{match}'", message));
        if (o.PeakRssBytes > o.MemoryBudgetBytes)
            v.Add(new("memory", magic, input, $"resident memory peaked at {o.PeakRssBytes / 1e6:N0} MB, budget {o.MemoryBudgetBytes / 1e6:N0} MB"));
        bool failed = o.Completed && o.Failures.Count > 0;
        // A diverged training fails its cell but keeps its record (the curve up to the divergence) for inspection.
        var newVariables = o.Failures.Any(m => m.Contains(" diverged. Stopped at step", StringComparison.Ordinal)) ? [] : o.NewVariables;
        if (failed && (newVariables.Count > 0 || o.NewModels.Count > 0))
            v.Add(new("state after failure", magic, input,
                string.Join("; ", new[]
                {
                    newVariables.Count > 0 ? $"new C# variable(s): {string.Join(", ", newVariables)}" : null,
                    o.NewModels.Count > 0 ? $"new registered model(s): {string.Join(", ", o.NewModels)}" : null,
                }.Where(s => s != null)), o.Failures[0]));
        if (o.BusyAfterEnd is { } busy) v.Add(new("busy after end", magic, input, busy));
        return v;
    }

    /// <summary>What check-files printed for one file (null outcome: no line, the process crashed or hung on it).</summary>
    public sealed record FileOutcome(string? Outcome, string? Type, string? Message);

    /// <summary>
    /// The violations of one loaded file: failed (a non-library exception), .NET wording, loaded although the corruption
    /// is <see cref="FileLabel.Detectable"/>, or refused although the file is <see cref="FileLabel.Valid"/>.
    /// </summary>
    public static IReadOnlyList<Violation> File(string kind, string input, FileLabel label, FileOutcome o)
    {
        var v = new List<Violation>();
        switch (o.Outcome)
        {
            case "failed":
                v.Add(new("failed (non-library exception)", kind, input, o.Type ?? "?", o.Message));
                break;
            case "loaded" when label == FileLabel.Detectable:
                v.Add(new("loaded a detectable lie", kind, input, "the loader accepted a file whose corruption the format or a cross-check can tell"));
                break;
            case "refused" when label == FileLabel.Valid:
                v.Add(new("refused a valid file", kind, input, o.Type ?? "?", o.Message));
                break;
            case "loaded" or "refused":
                break;
            default:
                v.Add(new("unknown outcome", kind, input, o.Outcome ?? "(none)", o.Message));
                break;
        }
        if (o.Outcome is "refused" or "failed")
            foreach (var (cls, match) in MessageProblems(o.Message))
                v.Add(new(cls, kind, input, $"matched '{match}'", o.Message));
        return v;
    }
}
