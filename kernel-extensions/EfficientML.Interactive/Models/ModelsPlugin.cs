using static TorchSharp.torch;
using EfficientML.Models;

namespace EfficientML.Interactive;

/// <summary>Models and tensors: <c>#!model</c>, and how a TinyGpt and a tensor look.</summary>
sealed class ModelsPlugin : INotebookPlugin
{
    public int Order => 10;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<TinyGpt>(TinyGptHtml.Render)
        .Add<Tensor>(TensorHtml.Render);

    public void AddMagics(MagicSet magics) => ModelMagic.AddTo(magics);
}
