using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using EfficientML.Reparam;

namespace EfficientML.Interactive;

/// <summary>RepCNN keyword spotting: <c>#!keywords</c>, <c>#!reparam</c>, datasets, evaluations, costs, latencies and folded kernels.</summary>
sealed class KeywordSpottingPlugin : INotebookPlugin
{
    public int Order => 80;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<KeywordDataset>(KeywordHtml.Render)
        .Add<KeywordStream>(KeywordHtml.Render)
        .Add<KeywordEvaluation>(KeywordHtml.Render)
        .Add<KeywordSpotterResult>(KeywordHtml.Render)
        // Lists and arrays of keyword spotters (e.g. one per model) as one comparison table.
        .Add<IEnumerable<KeywordSpotterResult>>(KeywordHtml.Render)
        .Add<IEnumerable<DeployLatency>>(KeywordHtml.Render)
        .Add<ReparameterizationReport>(KeywordHtml.Render)
        .Add<ModelCost>(KeywordHtml.Render)
        .Add<IEnumerable<ModelCost>>(KeywordHtml.Render)
        .Add<RepBranchKernels>(KeywordHtml.Render);

    public void AddMagics(MagicSet magics)
    {
        KeywordsMagic.AddTo(magics);
        ReparamMagic.AddTo(magics);
    }
}
