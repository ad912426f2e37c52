namespace EfficientML.Fuzz;

/// <summary>
/// How much to fuzz: quick (the default, what CI runs) or full (<c>EFFICIENTML_FUZZ=full</c>); <c>EFFICIENTML_FUZZ_SEED</c>
/// picks the seed (default 1). <c>EFFICIENTML_FUZZ_SUBMISSIONS</c> and <c>EFFICIENTML_FUZZ_FILES</c> override the counts
/// (for a run between the two).
/// </summary>
public sealed record FuzzMode(string Name, int Seed, int Submissions, int Files)
{
    public static FuzzMode Current { get; } = FromEnvironment();

    static FuzzMode FromEnvironment()
    {
        var name = (Environment.GetEnvironmentVariable("EFFICIENTML_FUZZ") ?? "quick").Trim().ToLowerInvariant();
        if (name is not ("quick" or "full")) throw new InvalidOperationException($"EFFICIENTML_FUZZ must be quick or full (got '{name}').");
        int seed = Number("EFFICIENTML_FUZZ_SEED") ?? 1;
        int submissions = Number("EFFICIENTML_FUZZ_SUBMISSIONS") ?? (name == "full" ? 10_000 : 300);
        int files = Number("EFFICIENTML_FUZZ_FILES") ?? (name == "full" ? 2_000 : 200);
        bool custom = Environment.GetEnvironmentVariable("EFFICIENTML_FUZZ_SUBMISSIONS") != null || Environment.GetEnvironmentVariable("EFFICIENTML_FUZZ_FILES") != null;
        return new FuzzMode(custom ? $"{name}-{submissions}x{files}" : name, seed, submissions, files);
    }

    static int? Number(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
            ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    /// <summary>Wall-clock limit of one magic submission before it is cancelled and counted as a hang.</summary>
    public static TimeSpan SubmissionTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the kernel may take to answer <c>1 + 1</c> after a submission.</summary>
    public static TimeSpan ProbeTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a check-files child may go without printing its next line before its current file counts as a hang.</summary>
    public static TimeSpan FileTimeout { get; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Submissions one magic worker serves before a fresh one takes over. .NET Interactive's C# kernel keeps every compiled
    /// submission, so its memory grows with the number of cells, faster as it goes (measured: 1,200 cells of <c>1 + 1</c>
    /// took a bare <c>dotnet-interactive stdio</c> from 292 MB to 1,774 MB resident); each submission here compiles twice
    /// (the input and the <c>1 + 1</c> probe). Within a worker's life the memory budget still applies to every submission.
    /// </summary>
    public const int SubmissionsPerWorker = 1000;

    /// <summary>Files per check-files child process.</summary>
    public const int FilesPerProcess = 100;
}
