using EfficientML.Routing;

namespace EfficientML.Interactive;

/// <summary>A routed model as HTML: its expert sizes, its routers (shape, parameters, compute per token) and its layers.</summary>
static class RoutedGptHtml
{
    public static string Render(RoutedGpt routed)
    {
        var c = routed.Config;
        var sizes = routed.Sizes;
        long routerParameters = routed.routers.parameters().Sum(p => p.numel());
        long modelParameters = routed.model.parameters().Sum(p => p.numel());
        long perRouter = routed.routers.Count == 0 ? 0 : routed.routers[0].parameters().Sum(p => p.numel());
        long routerMacs = routed.routers.Count == 0 ? 0 : routed.routers[0].MultiplyAddsPerToken;
        double mlpMacs = 2.0 * c.Dim * c.MlpDim;
        var experts = string.Join(" · ", Enumerable.Range(0, sizes.Count).Select(j =>
            $"{Html.Number(Math.Round(100 * sizes.Fraction(j), 1))}% ({sizes.Neurons[j]} neurons)"));
        var shape = routed.RouterHidden > 0
            ? $"{c.Dim} → {routed.RouterHidden} (GELU) → {sizes.Count} logits"
            : $"linear, {c.Dim} → {sizes.Count} logits";
        var table = Html.KeyValueTable(new (string, string)[]
        {
            ("experts per MLP", $"{sizes.Count}, nested: {experts}"),
            ("MLP width", $"{sizes.Width} neurons, sorted by importance (expert j is the first of them)"),
            ("layers", $"{c.Layers}, each with its own router"),
            ("router", $"{shape}: {Html.Count(perRouter)} parameters, {Html.Count(routerMacs)} multiply-adds per token " +
                       $"({Format.Percent(routerMacs / mlpMacs)} of a dense MLP's)"),
            ("parameters", $"{Html.Count(modelParameters)} in the model (as many as the dense one) + {Html.Count(routerParameters)} in the routers"),
            ("device", Html.Encode(routed.Device.ToString())),
        });
        return $"<div class=\"efml-routed-gpt\" style=\"{Html.BlockStyle}\">" +
               $"<div style=\"margin-bottom:6px\"><b>RoutedGpt</b> · {c.Layers} layers × {sizes.Count} nested experts ({Html.Encode(sizes.ToString())}) · " +
               $"routers {Html.Count(routerParameters)} parameters</div>{table}</div>";
    }
}
