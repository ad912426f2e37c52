using EfficientML.ActiveSpeaker;
using EfficientML.Vision;

namespace EfficientML.Interactive;

/// <summary>Active speaker detection: <c>#!asd-grid</c>, <c>#!asd</c>, scenes, streamed runs and the (P, F) grid report.</summary>
sealed class ActiveSpeakerPlugin : INotebookPlugin
{
    public int Order => 100;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<SpeakerScene>(ActiveSpeakerHtml.Render)
        .Add<SpeakerRun>(ActiveSpeakerHtml.Render)
        .Add<ContextGridResult>(ActiveSpeakerHtml.Render);

    public void AddMagics(MagicSet magics)
    {
        AsdGridMagic.AddTo(magics);
        AsdMagic.AddTo(magics);
    }
}
