namespace EfficientML.Interactive;

/// <summary>Where the notebook runs: <c>#!environment</c> and the <see cref="EnvironmentReport"/> formatter.</summary>
sealed class EnvironmentPlugin : INotebookPlugin
{
    public int Order => 0;
    public void RegisterFormatters(FormatterSet formatters) => formatters.Add<EnvironmentReport>(EnvironmentReportHtml.Render);
    public void AddMagics(MagicSet magics) => EnvironmentMagic.AddTo(magics);
}
