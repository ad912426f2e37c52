namespace EfficientML.Core;

/// <summary>How a training run ended.</summary>
public enum TrainingOutcome
{
    /// <summary>Still going.</summary>
    Running,
    /// <summary>Every step ran.</summary>
    Completed,
    /// <summary>Stopped on request between two steps; the model holds the last completed step's weights.</summary>
    Cancelled,
    /// <summary>The loss, the gradients, a weight or a batch-norm statistic became NaN or infinite; the model was put back to the weights and statistics it had before that step.</summary>
    Diverged,
}

/// <summary>One optimizer step: training loss, learning rate and speed.</summary>
public sealed record TrainingStep(int Step, double Loss, double LearningRate, double TokensPerSecond, TimeSpan Elapsed, double? GradientNorm);

/// <summary>One evaluation: mean validation loss (nats per token) after <paramref name="Step"/> steps.</summary>
public sealed record EvaluationPoint(int Step, double ValidationLoss)
{
    /// <summary>The loss in bits per token (bits per byte for a byte-level model).</summary>
    public double Bits => ValidationLoss / Math.Log(2);
}

/// <summary>
/// The record of a training run, filled while it runs: steps, evaluations, outcome. Thread-safe to read
/// while training appends, so a chart can redraw it live; formatters draw it as loss curves.
/// </summary>
public sealed class TrainingRun
{
    readonly object _gate = new();
    readonly List<TrainingStep> _steps = new();
    readonly List<EvaluationPoint> _evaluations = new();

    /// <summary>Starts an empty record; <paramref name="item"/> names what a step consumes and the loss is averaged over ("token", "clip").</summary>
    public TrainingRun(string name, TrainingOptions options, long tokensPerStep, string item = "token")
    {
        Name = name;
        Options = options.Validate(); // the one check: a record's options are immutable from here on
        TokensPerStep = tokensPerStep;
        Item = item;
    }

    /// <summary>What a step consumes and the loss is averaged over: "token" for language models, "clip" for keyword spotters.</summary>
    public string Item { get; }

    /// <summary>Label for charts and tables.</summary>
    public string Name { get; }

    /// <summary>The settings it ran with.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Tokens (or other <see cref="Item"/>s) consumed per step.</summary>
    public long TokensPerStep { get; }

    /// <summary>Raised after every step and evaluation (on the training thread).</summary>
    public event Action<TrainingRun>? Updated;

    /// <summary>How it ended (or <see cref="TrainingOutcome.Running"/>).</summary>
    public TrainingOutcome Outcome { get; private set; } = TrainingOutcome.Running;

    /// <summary>Steps completed when cancellation was requested (null if it never was): the run stops before the next one starts.</summary>
    public int? CancelRequestedAfter { get; private set; }

    /// <summary>A sentence about how it ended (what to do, when it went wrong).</summary>
    public string Message { get; private set; } = "";

    /// <summary>Throws <see cref="TrainingDivergedException"/> (with <see cref="Message"/>) when the run diverged; returns the run otherwise.</summary>
    public TrainingRun ThrowIfDiverged() => Outcome == TrainingOutcome.Diverged ? throw new TrainingDivergedException(this) : this;

    /// <summary>A copy of the steps so far.</summary>
    public IReadOnlyList<TrainingStep> Steps { get { lock (_gate) return _steps.ToArray(); } }

    /// <summary>A copy of the evaluations so far.</summary>
    public IReadOnlyList<EvaluationPoint> Evaluations { get { lock (_gate) return _evaluations.ToArray(); } }

    /// <summary>Training loss of the last step, if any.</summary>
    public double? LastLoss { get { lock (_gate) return _steps.Count > 0 ? _steps[^1].Loss : null; } }

    /// <summary>Validation loss of the last evaluation, if any.</summary>
    public double? LastValidationLoss { get { lock (_gate) return _evaluations.Count > 0 ? _evaluations[^1].ValidationLoss : null; } }

    /// <summary>Wall time of the steps so far.</summary>
    public TimeSpan Elapsed { get { lock (_gate) return _steps.Count > 0 ? _steps[^1].Elapsed : TimeSpan.Zero; } }

    /// <summary>Average training throughput over all steps so far.</summary>
    public double TokensPerSecond
    {
        get { lock (_gate) return _steps.Count > 0 ? _steps.Count * (double)TokensPerStep / _steps[^1].Elapsed.TotalSeconds : 0; }
    }

    /// <summary>
    /// Steps after which the validation loss first reached <paramref name="loss"/>, interpolated linearly between the two
    /// evaluations around the crossing (0 when the first evaluation, e.g. at step 0, is already there); null if it never did.
    /// </summary>
    public double? StepsToReach(double loss)
    {
        var points = Evaluations;
        for (int i = 0; i < points.Count; i++)
        {
            if (points[i].ValidationLoss > loss) continue;
            if (i == 0) return points[0].Step;
            var (a, b) = (points[i - 1], points[i]);
            double fraction = (a.ValidationLoss - loss) / (a.ValidationLoss - b.ValidationLoss);
            return a.Step + fraction * (b.Step - a.Step);
        }
        return null;
    }

    internal void Add(TrainingStep step) { lock (_gate) _steps.Add(step); Updated?.Invoke(this); }

    internal void Add(EvaluationPoint point) { lock (_gate) _evaluations.Add(point); Updated?.Invoke(this); }

    internal void MarkCancelRequested()
    {
        lock (_gate) CancelRequestedAfter ??= _steps.Count;
    }

    internal void Finish(TrainingOutcome outcome, string message)
    {
        Outcome = outcome;
        Message = message;
        Updated?.Invoke(this);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}: {Outcome}, {Steps.Count} steps, loss {LastLoss:F3}" + (LastValidationLoss is double v ? $", validation {v:F3}" : "") + (Message.Length > 0 ? $" — {Message}" : "");
}
