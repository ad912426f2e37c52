using EfficientML.Core;

namespace EfficientML.Interactive;

/// <summary>
/// Live output of a deployment pipeline run from C#: <c>pipeline.Run(steps, PipelineLive.Following())</c> follows each
/// step's training run in the cell as <see cref="LiveView.Follow(TrainingRun)"/> does (in a script: a progress bar, and
/// the final chart in the report), one chart per run.
/// </summary>
public static class PipelineLive
{
    /// <summary>A progress callback for <c>DeploymentPipeline.Run</c> that follows every new training run it is given.</summary>
    public static Action<TrainingRun> Following()
    {
        var followed = new HashSet<TrainingRun>(ReferenceEqualityComparer.Instance);
        return run =>
        {
            bool first;
            lock (followed) first = followed.Add(run);
            if (first) LiveView.Follow(run);
        };
    }
}
