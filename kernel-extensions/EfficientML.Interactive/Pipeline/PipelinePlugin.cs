using EfficientML.Pipeline;

namespace EfficientML.Interactive;

/// <summary>
/// The deployment pipeline: <c>#!pipeline</c>, pipelines, their step measurements, invariants, interactions and the
/// composed model's card.
/// </summary>
sealed class PipelinePlugin : INotebookPlugin
{
    public int Order => 110;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<DeploymentPipeline>(PipelineHtml.Render)
        .Add<StepMeasurement>(PipelineHtml.Render)
        // DeploymentPipeline.Measurements (or Run's return value) as the quality-vs-speed chart, the table and the bytes chart.
        .Add<IEnumerable<StepMeasurement>>(PipelineHtml.Measurements)
        .Add<IEnumerable<InvariantCheck>>(PipelineHtml.Invariants)
        .Add<IEnumerable<DraftFit>>(fits => $"<div style=\"{Html.BlockStyle}\">{PipelineHtml.DraftFits(fits)}</div>")
        .Add<PipelineInteractions>(PipelineHtml.Interactions)
        .Add<RoutersUnderClustering>(r => $"<div style=\"{Html.BlockStyle}\">{PipelineHtml.Routers(r)}</div>")
        .Add<IEnumerable<OrderRule>>(PipelineHtml.Rules)
        .Add<IEnumerable<StepTrade>>(PipelineHtml.Trades)
        .Add<IEnumerable<BitWidthVariant>>(variants => $"<div style=\"{Html.BlockStyle}\">{PipelineHtml.BitWidths(variants)}</div>")
        .Add<ComposedModelCard>(PipelineHtml.Card);

    public void AddMagics(MagicSet magics) => PipelineMagic.AddTo(magics);
}
