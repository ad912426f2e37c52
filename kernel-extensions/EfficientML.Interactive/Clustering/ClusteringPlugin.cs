using EfficientML.Clustering;

namespace EfficientML.Interactive;

/// <summary>DKM/eDKM weight clustering: <c>#!cluster</c>, compression results, palettes and saved-memory reports.</summary>
sealed class ClusteringPlugin : INotebookPlugin
{
    public int Order => 40;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<CompressionResult>(CompressionResultHtml.Render)
        // Lists and arrays of results (e.g. ClusteringExperiments.Compression) as one table and one chart.
        .Add<IEnumerable<CompressionResult>>(CompressionResultHtml.Render)
        .Add<Palette>(PaletteHtml.Render)
        .Add<SavedTensorReport>(SavedMemoryHtml.Render)
        .Add<IEnumerable<SavedMemoryRow>>(SavedMemoryHtml.Render);

    public void AddMagics(MagicSet magics) => ClusterMagic.AddTo(magics);
}
