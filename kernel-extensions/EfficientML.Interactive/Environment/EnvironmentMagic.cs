using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!environment</c> (it has none).</summary>
public sealed class EnvironmentCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => EnvironmentMagic.ToCSharp(this);
}

/// <summary><c>#!environment</c>: shows an <see cref="EnvironmentReport"/>. C#: <c>EnvironmentReport.Collect()</c>.</summary>
static class EnvironmentMagic
{
    /// <summary>C# equivalent: <c>display(EnvironmentReport.Collect());</c></summary>
    internal static string ToCSharp(EnvironmentCommand c) => "display(EnvironmentReport.Collect());";

    public const string Name = "#!environment";

    public static void AddTo(MagicSet magics)
    {
        var directive = new KernelActionDirective(Name)
        {
            Description = "Shows where this notebook runs: device, CUDA, torch threads, versions of TorchSharp, libtorch, .NET and EfficientML, " +
                          "where the datasets and the pretrained model are (and whether they are there), which native library was loaded, and the CPU, the float32 kernels in use and the start-up numerics check.",
        };
        magics.Add<EnvironmentCommand>(directive, (_, context) =>
        {
            context.Display(EnvironmentReport.Collect(), HtmlFormatter.MimeType);
            return Task.CompletedTask;
        });
    }
}
