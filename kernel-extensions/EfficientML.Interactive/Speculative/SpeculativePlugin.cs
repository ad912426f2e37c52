using EfficientML.Speculative;

namespace EfficientML.Interactive;

/// <summary>M2R2 and speculative decoding: <c>#!speculate</c>, decoding results, layer profiles, dynamic compute and speculation on grown targets.</summary>
sealed class SpeculativePlugin : INotebookPlugin
{
    public int Order => 60;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<SpeculativeResult>(SpeculativeResultHtml.Render)
        // Lists and arrays of runs (e.g. one per drafter) as one table and their acceptance side by side.
        .Add<IEnumerable<SpeculativeResult>>(SpeculativeResultHtml.Render)
        .Add<LayerProfile>(LayerProfileHtml.Render)
        // LayerAnalysis.Measure's list (or an array) as the layer chart and one table.
        .Add<IEnumerable<LayerProfile>>(LayerProfileHtml.Render)
        .Add<DynamicComputePoint>(DynamicComputeHtml.Render)
        // DynamicCompute.EarlyExit / M2R2 lists (concatenated too) as one chart and one table.
        .Add<IEnumerable<DynamicComputePoint>>(DynamicComputeHtml.Render)
        // TargetSizeStudy.Run: speed-up against target width per drafter, measured and predicted, and its table.
        .Add<TargetSizeStudyResult>(TargetSizeHtml.Render);

    public void AddMagics(MagicSet magics) => SpeculateMagic.AddTo(magics);
}
