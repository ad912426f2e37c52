using EfficientML.Routing;

namespace EfficientML.Interactive;

/// <summary>DynaMoE token routing: <c>#!route</c>, routed models, studies and points on the loss–compute plane.</summary>
sealed class RoutingPlugin : INotebookPlugin
{
    public int Order => 50;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<RoutedGpt>(RoutedGptHtml.Render)
        .Add<RoutingStudy>(RoutingStudyHtml.Render)
        .Add<RoutingPoint>(RoutingPointHtml.Render)
        // Lists and arrays of routing points (e.g. RoutingEvaluation.Sweep) as one chart and one table.
        .Add<IEnumerable<RoutingPoint>>(RoutingPointHtml.Render);

    public void AddMagics(MagicSet magics) => RouteMagic.AddTo(magics);
}
