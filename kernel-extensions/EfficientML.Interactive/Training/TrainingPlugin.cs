using EfficientML.Core;

namespace EfficientML.Interactive;

/// <summary>Training: <c>#!train</c> and training runs drawn as loss curves.</summary>
sealed class TrainingPlugin : INotebookPlugin
{
    public int Order => 20;
    public void RegisterFormatters(FormatterSet formatters) => formatters.Add<TrainingRun>(TrainingRunHtml.Render);
    public void AddMagics(MagicSet magics) => TrainMagic.AddTo(magics);
}
