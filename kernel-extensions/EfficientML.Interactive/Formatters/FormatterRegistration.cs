using EfficientML.Cloning;
using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Plots;
using EfficientML.Reparam;
using EfficientML.Routing;
using EfficientML.Speculative;
using EfficientML.Speech;
using Microsoft.DotNet.Interactive.Formatting;
using Plotly.NET;
using static TorchSharp.torch;

namespace EfficientML.Interactive.Formatters;

/// <summary>
/// Registers the HTML formatters. Registrations are process-wide, so each is added only when no formatter for
/// that type is registered yet: loading twice adds nothing, and a reset of the formatters is repaired by a reload.
/// </summary>
static class FormatterRegistration
{
    static readonly object Gate = new();

    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            Register<TinyGpt>(TinyGptHtml.Render);
            Register<Tensor>(TensorHtml.Render);
            Register<TrainingRun>(TrainingRunHtml.Render);
            Register<EnvironmentReport>(EnvironmentReportHtml.Render);
            Register<CloneReport>(CloneReportHtml.Render);
            Register<SubcloneReport>(SubcloneReportHtml.Render);
            Register<RaceResult>(RaceResultHtml.Render);
            Register<CompressionResult>(CompressionResultHtml.Render);
            // Lists and arrays of results (e.g. ClusteringExperiments.Compression) as one table and one chart.
            Register<IEnumerable<CompressionResult>>(CompressionResultHtml.Render);
            Register<Palette>(PaletteHtml.Render);
            Register<SavedTensorReport>(SavedMemoryHtml.Render);
            Register<IEnumerable<SavedMemoryRow>>(SavedMemoryHtml.Render);
            Register<RoutedGpt>(RoutedGptHtml.Render);
            Register<RoutingStudy>(RoutingStudyHtml.Render);
            Register<RoutingPoint>(RoutingPointHtml.Render);
            // Lists and arrays of routing points (e.g. RoutingEvaluation.Sweep) as one chart and one table.
            Register<IEnumerable<RoutingPoint>>(RoutingPointHtml.Render);
            Register<SpeculativeResult>(SpeculativeResultHtml.Render);
            // Lists and arrays of runs (e.g. one per drafter) as one table and their acceptance side by side.
            Register<IEnumerable<SpeculativeResult>>(SpeculativeResultHtml.Render);
            Register<LayerProfile>(LayerProfileHtml.Render);
            // LayerAnalysis.Measure's list (or an array) as the layer chart and one table.
            Register<IEnumerable<LayerProfile>>(LayerProfileHtml.Render);
            Register<DynamicComputePoint>(DynamicComputeHtml.Render);
            // DynamicCompute.EarlyExit / M2R2 lists (concatenated too) as one chart and one table.
            Register<IEnumerable<DynamicComputePoint>>(DynamicComputeHtml.Render);
            Register<AudioClip>(SpeechHtml.Render);
            Register<SynthesizedSpeech>(SpeechHtml.Render);
            Register<KeywordDataset>(SpeechHtml.Render);
            Register<KeywordStream>(SpeechHtml.Render);
            Register<KeywordEvaluation>(SpeechHtml.Render);
            Register<KeywordSpotterResult>(SpeechHtml.Render);
            // Lists and arrays of keyword spotters (e.g. one per model) as one comparison table.
            Register<IEnumerable<KeywordSpotterResult>>(SpeechHtml.Render);
            Register<IEnumerable<DeployLatency>>(SpeechHtml.Render);
            Register<ReparameterizationReport>(SpeechHtml.Render);
            Register<ModelCost>(SpeechHtml.Render);
            Register<IEnumerable<ModelCost>>(SpeechHtml.Render);
            Register<RepBranchKernels>(SpeechHtml.Render);
            // Charts from EfficientML.Plots (or any Plotly.NET chart) drawn offline, with the inline plotly.js.
            Register<GenericChart>(ChartHtml.Fragment);
        }
    }

    static void Register<T>(Func<T, string> render)
    {
        bool registered = Formatter.RegisteredFormatters(includeDefaults: false)
            .Any(f => f.Type == typeof(T) && f.MimeType == HtmlFormatter.MimeType);
        if (registered) return;
        Formatter.Register<T>((value, writer) => writer.Write(render(value)), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(T), HtmlFormatter.MimeType);
    }
}
