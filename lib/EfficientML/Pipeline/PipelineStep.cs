using EfficientML.Core;
using EfficientML.Text;

namespace EfficientML.Pipeline;

/// <summary>What every step sees besides the state: the text, the settings, and where to report progress.</summary>
/// <param name="Corpus">Training and validation text.</param>
/// <param name="Options">The pipeline's settings.</param>
/// <param name="Interactions">Where steps record how the techniques interact.</param>
/// <param name="Prompts">The measurement prompts (the same for every step).</param>
/// <param name="Progress">Sees every training run's updates (for live charts).</param>
/// <param name="Stage">Told what is being done, in words.</param>
/// <param name="Cancellation">Checked between steps and inside training.</param>
public sealed record PipelineContext(
    TextCorpus Corpus, PipelineOptions Options, PipelineInteractions Interactions, IReadOnlyList<int[]> Prompts,
    Action<TrainingRun>? Progress, Action<string>? Stage, CancellationToken Cancellation);

/// <summary>
/// One named step: a plain function that changes the state (the model) and says what it did and which invariants it
/// re-checked; the pipeline measures the model after it. The built-in steps are in <see cref="PipelineSteps"/>; any
/// other function can be a step too.
/// </summary>
/// <param name="Name">Short name, e.g. "grow" (the magic's and the order rules' name for it).</param>
/// <param name="Title">What it does, for tables and charts.</param>
/// <param name="Notebook">The notebook that teaches the technique.</param>
/// <param name="Apply">The step's work.</param>
public sealed record PipelineStep(string Name, string Title, string Notebook, Func<PipelineState, PipelineContext, StepWork> Apply);
