using EfficientML.Slick;

namespace EfficientML.Interactive;

/// <summary>User-defined keyword spotting with SLiCK: <c>#!kws-match</c>, matches, scans, pair scores, trials, the ablation and the cost.</summary>
sealed class SlickPlugin : INotebookPlugin
{
    public int Order => 85;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<SlickMatch>(SlickMatchHtml.Render)
        .Add<SlickScan>(SlickMatchHtml.Render)
        .Add<SlickScores>(SlickHtml.Render)
        .Add<SlickTrial>(SlickHtml.Render)
        .Add<SlickAblation>(SlickHtml.Render)
        .Add<SlickKeyword>(SlickHtml.Render)
        .Add<SlickCost>(SlickHtml.Render);

    public void AddMagics(MagicSet magics) => KwsMatchMagic.AddTo(magics);
}
