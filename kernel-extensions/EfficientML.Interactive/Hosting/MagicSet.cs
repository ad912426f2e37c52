using System.Reflection;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>
/// Adds magic commands to one notebook: each checks its line as written (<see cref="OptionSyntax"/>), runs through
/// <see cref="MagicRunner"/> (a user's mistake becomes one message, the kernel lives on) and is listed, so the loaded
/// banner and the docs cannot drift from what is registered.
/// </summary>
public sealed class MagicSet
{
    static readonly PropertyInfo MaxOccurrences = typeof(KernelDirectiveParameter).GetProperty(nameof(KernelDirectiveParameter.MaxOccurrences))!;
    readonly List<(string Name, string Description)> _added = new();

    readonly Dictionary<string, KernelActionDirective> _directives = new(StringComparer.Ordinal);
    readonly Dictionary<string, Type> _commandTypes = new(StringComparer.Ordinal);
    readonly System.Runtime.CompilerServices.ConditionalWeakTable<SubmitCode, object> _checked = new();

    internal MagicSet(NotebookSession session)
    {
        Session = session;
        // Every magic line of a cell is checked as written (OptionSyntax), once, when the cell's first command reaches the
        // pipeline: before any magic runs, and before the kernel's own parser can answer what it cannot take (an unknown
        // option) with a coded diagnostic.
        session.Root.AddMiddleware(async (command, context, next) =>
        {
            if (Cell(command) is { } cell && _checked.TryAdd(cell, this))
            {
                try { CheckLines(cell); }
                catch (MagicException e)
                {
                    context.Fail(cell, message: e.Message);
                    return;
                }
            }
            await next(command, context);
        });
    }

    static SubmitCode? Cell(KernelCommand command)
    {
        SubmitCode? cell = null;
        for (var c = command; c != null; c = c.Parent)
            if (c is SubmitCode submit) cell = submit;
        return cell;
    }

    void CheckLines(SubmitCode cell)
    {
        foreach (var raw in cell.Code.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith("#!", StringComparison.Ordinal)) continue;
            int end = line.IndexOf(' ');
            if (_directives.TryGetValue(end < 0 ? line : line[..end], out var directive)) OptionSyntax.Check(line, directive);
        }
    }

    /// <summary>The notebook the magics are added to.</summary>
    public NotebookSession Session { get; }

    /// <summary>The magics added so far, in order, with their descriptions.</summary>
    public IReadOnlyList<(string Name, string Description)> Added => _added;

    /// <summary>Adds <paramref name="directive"/>, bound to <typeparamref name="TCommand"/> by option name, running <paramref name="run"/>.</summary>
    public void Add<TCommand>(KernelActionDirective directive, Func<TCommand, KernelInvocationContext, Task> run)
        where TCommand : KernelDirectiveCommand
    {
        // A repeated option reaches OptionSyntax (one message) instead of the kernel's parser (a DNI105 code).
        // MaxOccurrences is init-only in this version of .NET Interactive, hence reflection.
        foreach (var parameter in directive.Parameters) MaxOccurrences.SetValue(parameter, int.MaxValue);
        Session.Root.AddDirective<TCommand>(directive, (command, context) => MagicRunner.RunAsync(command, context, () =>
        {
            // A cell interrupted before its magic started has already been answered "cancelled"; the kernel then runs
            // the magic in a fresh context of its own, whose token no interrupt reaches, so it must not run at all.
            if (InterruptedBeforeStart(command, context)) return Task.CompletedTask;
            return Counted(() => run(command, context));
        }));
        _added.Add((directive.Name, directive.Description ?? ""));
        _directives[directive.Name] = directive;
        _commandTypes[directive.Name] = typeof(TCommand);
    }

    /// <summary>The directive called <paramref name="name"/> and the command class its options bind to.</summary>
    internal bool TryGet(string name, out KernelActionDirective directive, out Type commandType)
    {
        commandType = typeof(object);
        return _directives.TryGetValue(name, out directive!) && _commandTypes.TryGetValue(name, out commandType!);
    }

    async Task Counted(Func<Task> body)
    {
        Session.MagicStarted();
        try { await body(); }
        finally { Session.MagicEnded(); }
    }

    /// <summary>
    /// True when <paramref name="command"/> came from a cell (it has a parent) but runs in a context of its own: the
    /// cell's context had already ended, which happens only when it was cancelled before this magic began.
    /// </summary>
    internal static bool InterruptedBeforeStart(KernelCommand command, KernelInvocationContext context) =>
        command.Parent is not null && ReferenceEquals(context.Command, command);

}
