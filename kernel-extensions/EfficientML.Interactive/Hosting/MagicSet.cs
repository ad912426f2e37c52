using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>
/// Adds magic commands to one notebook: each runs through <see cref="MagicRunner"/> (a user's mistake becomes one message,
/// the kernel lives on) and is listed, so the loaded banner and the docs cannot drift from what is registered.
/// </summary>
public sealed class MagicSet
{
    readonly List<(string Name, string Description)> _added = new();

    internal MagicSet(NotebookSession session) => Session = session;

    /// <summary>The notebook the magics are added to.</summary>
    public NotebookSession Session { get; }

    /// <summary>The magics added so far, in order, with their descriptions.</summary>
    public IReadOnlyList<(string Name, string Description)> Added => _added;

    /// <summary>Adds <paramref name="directive"/>, bound to <typeparamref name="TCommand"/> by option name, running <paramref name="run"/>.</summary>
    public void Add<TCommand>(KernelActionDirective directive, Func<TCommand, KernelInvocationContext, Task> run)
        where TCommand : KernelDirectiveCommand
    {
        Session.Root.AddDirective<TCommand>(directive, (command, context) => MagicRunner.RunAsync(command, context, () => run(command, context)));
        _added.Add((directive.Name, directive.Description ?? ""));
    }
}
