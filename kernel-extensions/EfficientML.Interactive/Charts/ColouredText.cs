using System.Globalization;

namespace EfficientML.Interactive;

/// <summary>
/// What the coloured-text outputs share (<see cref="RoutingCharts.TokenExperts(string, long[,], EfficientML.Routing.ExpertSizes, string?)"/>,
/// <see cref="SpeculativeCharts.TokenStream(IReadOnlyList{EfficientML.Speculative.SpeculativeToken}, EfficientML.Text.ITokenizer?, string?, string?)"/>):
/// the text's monospace font, inks, and translucent palette colours for backgrounds (the rest of their style is
/// <see cref="Html.BlockStyle"/>).
/// </summary>
static class ColouredText
{
    public const string Mono = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace";
    public const string Ink = "#333";
    public const string Muted = "#666";

    /// <summary><paramref name="hex"/> (#rrggbb) at <paramref name="opacity"/> as #rrggbbaa: on white, that share of the way from white to the colour.</summary>
    public static string Translucent(string hex, double opacity) =>
        hex + ((int)Math.Round(Math.Clamp(opacity, 0, 1) * 255)).ToString("x2", CultureInfo.InvariantCulture);
}
