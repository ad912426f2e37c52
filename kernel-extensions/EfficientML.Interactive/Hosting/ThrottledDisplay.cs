using System.Diagnostics;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>
/// One output that is shown once and then updated in place, at most once per <see cref="Interval"/>: every
/// update resends the whole HTML, so a live chart redrawn on every step would flood the notebook.
/// </summary>
sealed class ThrottledDisplay(KernelInvocationContext context, TimeSpan interval)
{
    readonly object _gate = new();
    DisplayedValue? _shown;
    long _lastShown;

    /// <summary>Least time between two updates.</summary>
    public TimeSpan Interval { get; } = interval;

    /// <summary>
    /// Like <see cref="Show(object, bool)"/>, but <paramref name="build"/> runs only when the update is due, on the
    /// caller's thread and under this display's lock (so a training callback can copy tensors for the update, and
    /// nothing else formats the value meanwhile).
    /// </summary>
    public void ShowIfDue(Func<object> build, bool force = false)
    {
        lock (_gate)
        {
            long now = Stopwatch.GetTimestamp();
            if (_shown != null && !force && Stopwatch.GetElapsedTime(_lastShown, now) < Interval) return;
            Show(build(), force: true);
        }
    }

    /// <summary>Shows <paramref name="value"/> (formatted anew); skipped when the last update is too recent, unless <paramref name="force"/>.</summary>
    public void Show(object value, bool force = false)
    {
        lock (_gate)
        {
            long now = Stopwatch.GetTimestamp();
            if (_shown is null)
            {
                _shown = context.Display(value, HtmlFormatter.MimeType);
                _lastShown = now;
                return;
            }
            if (!force && Stopwatch.GetElapsedTime(_lastShown, now) < Interval) return;
            _shown.Update(value);
            _lastShown = now;
        }
    }
}
