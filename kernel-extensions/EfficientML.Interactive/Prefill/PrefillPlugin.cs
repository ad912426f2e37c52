using EfficientML.Prefill;

namespace EfficientML.Interactive;

/// <summary>Parallel prefill (KV-Runahead): <c>#!prefill</c>, prefill summaries with their timelines, races and partition searches.</summary>
sealed class PrefillPlugin : INotebookPlugin
{
    public int Order => 65;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<PrefillSummary>(PrefillHtml.Render)
        .Add<PrefillRace>(PrefillHtml.Render)
        .Add<PartitionSearchResult>(PrefillHtml.Render);

    public void AddMagics(MagicSet magics) => PrefillMagic.AddTo(magics);
}
