using EfficientML.Cloning;

namespace EfficientML.Interactive;

/// <summary>HyperCloning and weight subcloning: <c>#!hyperclone</c>, <c>#!subclone</c>, <c>#!race</c> and their reports.</summary>
sealed class CloningPlugin : INotebookPlugin
{
    public int Order => 30;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<CloneReport>(CloneReportHtml.Render)
        .Add<SubcloneReport>(SubcloneReportHtml.Render)
        .Add<RaceResult>(RaceResultHtml.Render);

    public void AddMagics(MagicSet magics)
    {
        HypercloneMagic.AddTo(magics);
        SubcloneMagic.AddTo(magics);
        RaceMagic.AddTo(magics);
    }
}
