using System.Diagnostics;
using System.Text.RegularExpressions;

namespace EfficientML.Core;

/// <summary>
/// The most resident memory the process held while some work ran. On Linux the kernel's high-water mark (VmHWM) is reset
/// before the work (writing 5 to /proc/self/clear_refs) and read after it, so even a peak between two samples counts;
/// elsewhere, or where the reset is refused, the resident size is sampled every 5 ms instead.
/// </summary>
public static partial class PeakResidentMemory
{
    /// <summary>Runs <paramref name="work"/> and returns its result with the peak resident bytes of the process meanwhile.</summary>
    public static (T Result, long PeakBytes) Measure<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (TryResetHighWaterMark())
        {
            var result = work();
            return (result, Math.Max(HighWaterMark() ?? 0, Environment.WorkingSet));
        }
        long peak = Environment.WorkingSet;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var process = Process.GetCurrentProcess();
                Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), process.WorkingSet64));
                try { await Task.Delay(5, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        try
        {
            var result = work();
            return (result, Math.Max(Interlocked.Read(ref peak), Environment.WorkingSet));
        }
        finally
        {
            stop.Cancel();
            sampler.Wait();
        }
    }

    static bool TryResetHighWaterMark()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return HighWaterMark() is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    static long? HighWaterMark()
    {
        try
        {
            var match = HighWaterMarkLine().Match(File.ReadAllText("/proc/self/status"));
            return match.Success ? long.Parse(match.Groups[1].Value) * 1024 : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"VmHWM:\s+(\d+)\s+kB")]
    private static partial Regex HighWaterMarkLine();
}
