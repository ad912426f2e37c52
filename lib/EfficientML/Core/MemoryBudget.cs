namespace EfficientML.Core;

/// <summary>
/// Refuses, before anything is allocated, what cannot fit in this machine's memory: a model, a batch, a calibration set.
/// Callers estimate the bytes a request needs; the message gives the estimate, what is free and what to change. Without
/// this, a request too large for the machine runs for minutes and then fails in native code, or takes the kernel down.
/// </summary>
public static class MemoryBudget
{
    /// <summary>The share of the free memory one request may take.</summary>
    public const double UsableShare = 0.8;

    /// <summary>Bytes free for new allocations now: the kernel's MemAvailable on Linux, else what the .NET runtime sees.</summary>
    public static long AvailableBytes
    {
        get
        {
            const string meminfo = "/proc/meminfo";
            try
            {
                if (File.Exists(meminfo))
                    foreach (var line in File.ReadLines(meminfo))
                        if (line.StartsWith("MemAvailable:", StringComparison.Ordinal) &&
                            long.TryParse(line["MemAvailable:".Length..].Replace("kB", "").Trim(), out var kb))
                            return Math.Min(kb * 1024, TotalBytes);
            }
            catch (IOException) { }
            return TotalBytes;
        }
    }

    /// <summary>The memory this process may use in all (the machine's, or its container's limit).</summary>
    public static long TotalBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Throws <see cref="InvalidSettingsException"/> when <paramref name="bytes"/> exceed <see cref="UsableShare"/> of the free
    /// memory. <paramref name="what"/> says what needs it ("A TinyGpt of 4.3 B parameters"), <paramref name="fix"/> what to change.
    /// </summary>
    public static void Require(double bytes, string what, string fix)
    {
        long available = AvailableBytes;
        if (!(bytes <= available * UsableShare))
            throw new InvalidSettingsException(
                $"{what} needs about {Describe(bytes)} of memory, but this machine has {Describe(available)} free " +
                $"({Describe(TotalBytes)} in all). {fix}");
    }

    /// <summary>Decimal units: 2.1 GB.</summary>
    public static string Describe(double bytes) =>
        !double.IsFinite(bytes) || bytes >= 1e15 ? "far more than any machine's memory" :
        bytes >= 1e12 ? $"{bytes / 1e12:0.#} TB" : bytes >= 1e9 ? $"{bytes / 1e9:0.#} GB" : bytes >= 1e6 ? $"{bytes / 1e6:0} MB" : $"{bytes / 1e3:0} KB";
}
