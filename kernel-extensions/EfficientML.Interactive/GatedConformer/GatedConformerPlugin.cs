using EfficientML.GatedConformer;

namespace EfficientML.Interactive;

/// <summary>Dynamic-depth keyword spotting: <c>#!gated</c>, <c>#!gates</c>, stream runs with their gate rasters, and the comparison report.</summary>
sealed class GatedConformerPlugin : INotebookPlugin
{
    public int Order => 90;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<GateRun>(GatedHtml.Render)
        .Add<GatedReport>(GatedHtml.Render);

    public void AddMagics(MagicSet magics)
    {
        GatedMagic.AddTo(magics);
        GatesMagic.AddTo(magics);
    }
}
