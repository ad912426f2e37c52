using System.Globalization;

namespace EfficientML.Fuzz;

/// <summary>Memory and CPU time of a process, read from /proc (Linux).</summary>
public static class ProcessStats
{
    /// <summary>Resident memory (VmRSS) of process <paramref name="pid"/> in bytes; 0 when it is gone.</summary>
    public static long ResidentBytes(int pid) => StatusField(pid, "VmRSS:") * 1024;

    /// <summary>CPU time (user + system, in seconds) used so far by process <paramref name="pid"/>; null when it is gone.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long utime = long.Parse(fields[11], CultureInfo.InvariantCulture), stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (utime + stime) / (double)TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// CPU seconds, per thread, of the runtime's own background threads in <paramref name="pid"/>: the tiered JIT
    /// (".NET Tiered Com…") and the background garbage collector (".NET BGC"). They recompile hot code and sweep the
    /// heap for seconds after busy cells, on any machine; that is not work a cell left running.
    /// </summary>
    public static Dictionary<string, double> RuntimeThreadCpuSeconds(int pid)
    {
        var seconds = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
                    var name = stat[(open + 1)..close];
                    if (!name.StartsWith(".NET Tiered", StringComparison.Ordinal) && !name.StartsWith(".NET BGC", StringComparison.Ordinal)) continue;
                    var fields = stat[(close + 2)..].Split(' ');
                    seconds[Path.GetFileName(task)] = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / (double)TicksPerSecond;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return seconds;
    }

    /// <summary>Clock ticks per second of /proc/PID/stat (100 on Linux x64).</summary>
    public const int TicksPerSecond = 100;

    /// <summary>MemAvailable of the machine in bytes.</summary>
    public static long MemAvailableBytes()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                return Kilobytes(line) * 1024;
        return 0;
    }

    /// <summary>
    /// The number in a /proc line such as "VmRSS:\t  123456 kB". The kernel pads the number to eight columns after a tab,
    /// so from 10,000,000 kB on the tab touches the number: split on any white space, never on spaces alone.
    /// </summary>
    public static long Kilobytes(string line) =>
        long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    static long StatusField(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return Kilobytes(line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>
    /// Waits until process <paramref name="pid"/>, less the runtime's own JIT and background GC threads, uses less than <paramref name="idleShare"/> of one core over
    /// <paramref name="window"/>, for at most <paramref name="deadline"/>. Null when it went idle (or is gone); else what was measured.
    /// </summary>
    public static string? WaitForIdle(int pid, TimeSpan window, TimeSpan deadline, double idleShare = 0.15, TimeSpan since = default, string sinceWhat = "the cell ended")
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double lastShare = 0;
        int windows = 0;
        while (true)
        {
            var before = CpuSeconds(pid);
            var runtimeBefore = RuntimeThreadCpuSeconds(pid);
            var start = clock.Elapsed;
            Thread.Sleep(window);
            var after = CpuSeconds(pid);
            var runtimeAfter = RuntimeThreadCpuSeconds(pid);
            if (before is null || after is null) return null;
            double runtime = runtimeAfter.Where(t => runtimeBefore.ContainsKey(t.Key)).Sum(t => t.Value - runtimeBefore[t.Key]);
            lastShare = Math.Max(0, after.Value - before.Value - runtime) / (clock.Elapsed - start).TotalSeconds;
            windows++;
            if (lastShare < idleShare) return null;
            if (clock.Elapsed >= deadline)
                return $"still using {lastShare:P0} of a core {(clock.Elapsed + since).TotalSeconds:0.0} s after {sinceWhat} (measured over {windows} windows of {window.TotalMilliseconds:0} ms; idle means < {idleShare:P0})";
        }
    }
}
