using TorchSharp.Modules;

namespace EfficientML.Core;

/// <summary>Turns off gradients of the given parameters that had them, until disposed (then turns them back on).</summary>
internal sealed class FrozenParameters : IDisposable
{
    readonly List<Parameter> _parameters;

    public FrozenParameters(IEnumerable<Parameter> parameters)
    {
        _parameters = parameters.Where(p => p.requires_grad).ToList();
        foreach (var p in _parameters) p.requires_grad = false;
    }

    public void Dispose()
    {
        foreach (var p in _parameters) p.requires_grad = true;
    }
}
