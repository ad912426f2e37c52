using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using EfficientML.Reparam;

namespace EfficientML.Interactive;

/// <summary>RepCNN keyword spotting: <c>#!keywords</c>, <c>#!reparam</c>, datasets, evaluations, costs, latencies and folded kernels.</summary>
sealed class KeywordSpottingPlugin : INotebookPlugin
{
    public int Order => 80;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<KeywordDataset>(SpeechHtml.Render)
        .Add<KeywordStream>(SpeechHtml.Render)
        .Add<KeywordEvaluation>(SpeechHtml.Render)
        .Add<KeywordSpotterResult>(SpeechHtml.Render)
        // Lists and arrays of keyword spotters (e.g. one per model) as one comparison table.
        .Add<IEnumerable<KeywordSpotterResult>>(SpeechHtml.Render)
        .Add<IEnumerable<DeployLatency>>(SpeechHtml.Render)
        .Add<ReparameterizationReport>(SpeechHtml.Render)
        .Add<ModelCost>(SpeechHtml.Render)
        .Add<IEnumerable<ModelCost>>(SpeechHtml.Render)
        .Add<RepBranchKernels>(SpeechHtml.Render);

    public void AddMagics(MagicSet magics)
    {
        KeywordsMagic.AddTo(magics);
        ReparamMagic.AddTo(magics);
    }
}
