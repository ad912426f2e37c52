using Plotly.NET;

namespace EfficientML.Interactive;

/// <summary>Any Plotly.NET chart (this extension's, or one a cell builds) drawn offline with the inline plotly.js. No magics.</summary>
sealed class ChartsPlugin : INotebookPlugin
{
    public int Order => 1000;
    public void RegisterFormatters(FormatterSet formatters) => formatters.Add<GenericChart>(ChartHtml.Fragment);
    public void AddMagics(MagicSet magics) { }
}
