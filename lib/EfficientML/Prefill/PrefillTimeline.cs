namespace EfficientML.Prefill;

/// <summary>What a worker was doing over a stretch of time.</summary>
public enum Activity
{
    /// <summary>Arithmetic: a layer of its chunk (or the output head).</summary>
    Compute,

    /// <summary>Blocked, waiting for keys and values from an earlier worker (or for a collective).</summary>
    Wait,

    /// <summary>Handing keys and values on (starting a send, or waiting for sends to finish).</summary>
    Send,
}

/// <summary>
/// One stretch of a worker's time, in seconds since the workers started together; <paramref name="Layer"/> is −1 for the
/// embeddings and the output head; <paramref name="Bytes"/> for sends and exchanges.
/// </summary>
public sealed record TimelineEvent(int Worker, int Layer, Activity Activity, double Start, double End, long Bytes = 0)
{
    /// <summary>Seconds it lasted.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double Seconds => End - Start;
}

/// <summary>Records a worker's events against the group's clock.</summary>
internal sealed class TimelineRecorder(int worker, Func<double> clock)
{
    readonly double _origin = clock();
    public readonly List<TimelineEvent> Events = [];

    public double Now => clock() - _origin;

    /// <summary>Runs <paramref name="action"/> and records it as <paramref name="activity"/>.</summary>
    public T Record<T>(Activity activity, int layer, Func<T> action, long bytes = 0)
    {
        double start = Now;
        var result = action();
        Events.Add(new TimelineEvent(worker, layer, activity, start, Now, bytes));
        return result;
    }

    public void Record(Activity activity, int layer, Action action, long bytes = 0) => Record(activity, layer, () => { action(); return 0; }, bytes);
}
