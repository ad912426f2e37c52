using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Pipeline;

/// <summary>
/// Takes one model through a deployment pipeline — grow, train, draft, route, cluster, decode, export, or any subset
/// and order that can work — and measures it the same way before the first step and after every step: validation bits
/// per byte, bytes on disk, parameters, peak resident memory, MLP compute per token, decoding speed against the
/// starting model's (timed alternately), greedy agreement of the drafts. Steps can be run in several calls (resume);
/// an order that cannot work is refused before any work with one message.
/// </summary>
/// <example>
/// <code>
/// using var pipeline = new DeploymentPipeline(PretrainedModels.LoadTinyMoby(), TextCorpus.MobyDick(), PipelineOptions.For(quick: true));
/// pipeline.Run();                        // every step in the usual order
/// Console.WriteLine(pipeline.Card());
/// </code>
/// </example>
public sealed class DeploymentPipeline : IDisposable
{
    readonly List<StepMeasurement> _measurements = [];
    readonly TextCorpus _corpus;
    readonly IReadOnlyList<int[]> _prompts;

    /// <summary>Starts a pipeline from a copy of <paramref name="start"/> (the caller keeps the original).</summary>
    public DeploymentPipeline(TinyGpt start, TextCorpus corpus, PipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(start);
        _corpus = corpus ?? throw new ArgumentNullException(nameof(corpus));
        Options = (options ?? new PipelineOptions()).Validate();
        if (start.Config.VocabSize != corpus.Tokenizer.VocabSize)
            throw new InvalidSettingsException($"The model reads {start.Config.VocabSize} token ids but the text has {corpus.Tokenizer.VocabSize}: start from a model trained on this text's tokenizer.");
        State = new PipelineState(start);
        _prompts = PipelineProbes.Prompts(corpus, start.Config, Options.DecodePrompts);
    }

    /// <summary>The settings.</summary>
    public PipelineOptions Options { get; }

    /// <summary>The model as it stands now.</summary>
    public PipelineState State { get; }

    /// <summary>How the techniques interacted, as measured so far.</summary>
    public PipelineInteractions Interactions { get; } = new();

    /// <summary>The starting model's measurement, then one per step run.</summary>
    public IReadOnlyList<StepMeasurement> Measurements => _measurements;

    /// <summary>Raised on the pipeline's thread after each measurement (the start's, then each step's).</summary>
    public event Action<StepMeasurement>? Measured;

    /// <summary>The built-in steps not run yet, in the usual order.</summary>
    public IReadOnlyList<string> Remaining => PipelineSteps.Names.Where(n => !State.Done.Contains(n)).ToList();

    /// <summary>Runs the built-in steps named in <paramref name="steps"/> (default: every one not run yet, in the usual order).</summary>
    public IReadOnlyList<StepMeasurement> Run(IEnumerable<string>? steps = null, Action<TrainingRun>? progress = null, Action<string>? stage = null,
        CancellationToken cancellation = default) =>
        Run((steps?.ToList() ?? Remaining).Select(PipelineSteps.Named).ToList(), progress, stage, cancellation);

    /// <summary>Runs <paramref name="steps"/> (built-in or your own functions) in order, measuring after each.</summary>
    public IReadOnlyList<StepMeasurement> Run(IReadOnlyList<PipelineStep> steps, Action<TrainingRun>? progress = null, Action<string>? stage = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(steps);
        PipelineOrder.Check(State.Done, steps.Select(s => s.Name).ToList());
        var context = new PipelineContext(_corpus, Options, Interactions, _prompts, progress, stage, cancellation);
        var measured = new List<StepMeasurement>();
        if (_measurements.Count == 0)
        {
            stage?.Invoke("Measuring the starting model…");
            measured.Add(Record(Measure("start", new StepWork($"the starting model, {State.Start.Config.Layers} × {State.Start.Config.Dim}", 0, [], []), 0, 0, context)));
        }
        foreach (var step in steps)
        {
            cancellation.ThrowIfCancellationRequested();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            NativeHeap.Trim();                                                    // memory freed by earlier steps is not this step's peak
            var clock = Stopwatch.StartNew();
            var (work, peak) = PeakResidentMemory.Measure(() => step.Apply(State, context));
            double seconds = clock.Elapsed.TotalSeconds;
            State.Completed(step.Name);
            stage?.Invoke($"Measuring the model after '{step.Name}'…");
            measured.Add(Record(Measure(step.Name, work, seconds, peak, context)));
        }
        stage?.Invoke("");
        return measured;
    }

    StepMeasurement Record(StepMeasurement measurement)
    {
        _measurements.Add(measurement);
        Measured?.Invoke(measurement);
        return measurement;
    }

    StepMeasurement Measure(string step, StepWork work, double seconds, long peak, PipelineContext context)
    {
        var o = Options;
        var (bits, mlp) = PipelineProbes.Quality(State, _corpus, o.EvalBatches);
        var (bytes, parameters) = PipelineProbes.Footprint(State);
        var (tokensPerSecond, speedUp) = PipelineProbes.DecodeSpeed(State, _prompts, o.DecodeTokens, o.Gamma, o.DecodeRepeats, context.Cancellation);
        var (x, _) = PipelineProbes.Windows(_corpus, State.Target.Config, o.AgreementWindows);
        double startAgreement;
        double? draftAgreement = null;
        using (x)
        {
            startAgreement = PipelineProbes.Agreement(State.Start, State, x);
            if (State.Draft is { } draft) draftAgreement = PipelineProbes.Agreement(draft, State, x);
        }
        return new StepMeasurement(step, work.Summary, bits, bytes, parameters, peak, mlp, tokensPerSecond, speedUp, State.DecoderName,
            seconds, work.TokensTrained, startAgreement, draftAgreement, work.Invariants, work.Notes);
    }

    /// <summary>What the composed model is, what it costs and what it scores, against the starting model.</summary>
    public ComposedModelCard Card()
    {
        if (_measurements.Count == 0) throw new InvalidSettingsException("Run at least one step before asking for the card (pipeline.Run()).");
        return ComposedModelCard.From(State, _measurements);
    }

    /// <summary>Disposes every model the pipeline holds.</summary>
    public void Dispose() => State.Dispose();
}
