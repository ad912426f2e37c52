using TorchSharp;

namespace EfficientML.Core;

/// <summary>Puts a module in evaluation mode until disposed, then back in training mode if it was training.</summary>
internal readonly struct EvalMode : IDisposable
{
    readonly torch.nn.Module _module;
    readonly bool _wasTraining;

    public EvalMode(torch.nn.Module module)
    {
        _module = module;
        _wasTraining = module.training;
        module.eval();
    }

    public void Dispose()
    {
        if (_wasTraining) _module.train();
    }
}
