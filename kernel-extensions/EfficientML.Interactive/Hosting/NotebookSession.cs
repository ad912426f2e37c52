using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;

namespace EfficientML.Interactive;

/// <summary>
/// What the extension keeps for one notebook (one root kernel): its models, its last training run, and the
/// C# kernel that magics share variables with, so a plain C# cell sees the very objects a magic made.
/// </summary>
public sealed class NotebookSession
{
    static readonly ConditionalWeakTable<Kernel, NotebookSession> Sessions = new();

    NotebookSession(Kernel root)
    {
        Root = root;
        CSharp = root as CSharpKernel ?? root.FindKernels(k => k is CSharpKernel).OfType<CSharpKernel>().FirstOrDefault();
        Magics = new MagicSet(this);
    }

    /// <summary>The magic commands added to this notebook, in the order the plug-ins added them.</summary>
    public MagicSet Magics { get; }

    /// <summary>The root kernel the magics are registered on.</summary>
    public Kernel Root { get; }

    /// <summary>The C# kernel variables are shared with (null when the notebook has none).</summary>
    public CSharpKernel? CSharp { get; }

    /// <summary>Models made with <c>#!model</c>.</summary>
    public ModelRegistry Models { get; } = new();

    /// <summary>
    /// Held while <c>#!train</c>, <c>#!race</c>, <c>#!cluster</c>, <c>#!route</c> or <c>#!speculate</c> trains, and while <c>#!hyperclone</c>,
    /// <c>#!subclone</c>, <c>#!cluster</c> or <c>#!speculate</c> read weights.
    /// An interrupt ends the cell at once while the step in flight finishes; the next magic waits for it instead of
    /// touching the same weights from two threads.
    /// </summary>
    internal SemaphoreSlim TrainingGate { get; } = new(1, 1);

    /// <summary>M2R2 accelerators trained by <c>#!speculate</c>, per model and exit layer.</summary>
    internal TrainedAccelerators Accelerators { get; } = new();

    int _runningMagics;

    /// <summary>Magic commands whose body is running now (an interrupted one counts until its work has stopped).</summary>
    public int RunningMagics => Volatile.Read(ref _runningMagics);

    internal void MagicStarted() => Interlocked.Increment(ref _runningMagics);
    internal void MagicEnded() => Interlocked.Decrement(ref _runningMagics);

    /// <summary>The most recent run of <c>#!train</c>, fine-tuning of <c>#!cluster</c> or <c>#!route</c>, or accelerator training of <c>#!speculate</c> (also while it runs).</summary>
    public TrainingRun? LastRun { get; internal set; }

    /// <summary>The most recent race of <c>#!race</c> (also while it runs).</summary>
    public RaceResult? LastRace { get; internal set; }

    /// <summary>Name of the C# variable that puts a notebook in quick mode (every tutorial's parameters cell declares it).</summary>
    public const string QuickVariable = "quick";

    /// <summary>
    /// True when the notebook runs in quick mode: its C# variable <c>quick</c> (declared in the parameters cell, set by the
    /// runner's <c>--param quick=true</c>) is true. Magics that train or sweep then use their small, fast settings, so a
    /// quick pass of a notebook takes under a minute; an option given explicitly still wins.
    /// </summary>
    public bool Quick => Variable(QuickVariable) is true;

    /// <summary>The session of <paramref name="kernel"/>'s root, if the extension was loaded there.</summary>
    public static NotebookSession? Of(Kernel kernel) => Sessions.TryGetValue(kernel.RootKernel ?? kernel, out var s) ? s : null;

    internal static NotebookSession GetOrCreate(Kernel kernel, out bool created)
    {
        var root = kernel.RootKernel ?? kernel;
        lock (Sessions)
        {
            if (Sessions.TryGetValue(root, out var existing)) { created = false; return existing; }
            var session = new NotebookSession(root);
            Sessions.Add(root, session);
            created = true;
            return session;
        }
    }

    readonly HashSet<string> _shared = new(StringComparer.Ordinal);

    /// <summary>
    /// The C# variable name <paramref name="text"/> gives for a magic's result (or <paramref name="fallback"/>), checked
    /// before any work: a usable name, and not a variable a C# cell made, which a magic never replaces (one a magic made
    /// before, or re-running the same magic, is fine).
    /// </summary>
    public string ResultName(string? text, string option, string fallback)
    {
        var name = OptionValues.VariableName(text, option, fallback);
        EnsureFree(name, option);
        return name;
    }

    /// <summary>Throws when <paramref name="name"/> is a C# variable that no magic made.</summary>
    internal void EnsureFree(string name, string option)
    {
        lock (_shared)
            if (_shared.Contains(name)) return;
        if (CSharp?.ScriptState?.GetVariable(name) is null) return;
        throw new MagicException($"A C# variable '{name}' already exists, made in a C# cell, and a magic does not replace it. " +
                                 $"Give this result another name with {option} (e.g. {option} {name}2), or rename yours.");
    }

    /// <summary>
    /// Makes <paramref name="value"/> a C# variable called <paramref name="name"/>. A variable of that name and
    /// type is reassigned in place: declaring it anew would compile another script submission every time.
    /// </summary>
    public async Task ShareAsync(string name, object value, Type declaredType)
    {
        if (CSharp is null) return;
        lock (_shared) _shared.Add(name);
        var existing = CSharp.ScriptState?.GetVariable(name);
        if (existing is { IsReadOnly: false } && existing.Type == declaredType)
        {
            existing.Value = value;
            return;
        }
        await CSharp.SetValueAsync(name, value, declaredType);
    }

    /// <summary>
    /// The <typeparamref name="T"/> called <paramref name="name"/>: the C# variable of that name when it holds one (so the
    /// magic and the C# code work on the same object, also after a cell assigned a new one), else one a magic registered.
    /// </summary>
    public bool TryFindModel<T>(string name, [MaybeNullWhen(false)] out T model) where T : class
    {
        // The C# variable first: a cell may have assigned a new model to a name a magic once made.
        if (Variable(name) is T fromCode)
        {
            model = fromCode;
            return true;
        }
        return Models.TryGet(name, out model);
    }

    /// <summary>The value of the C# variable <paramref name="name"/>, or null when there is none.</summary>
    public object? Variable(string name) =>
        CSharp != null && CSharp.TryGetValue<object>(name, out var value) ? value : null;

    /// <summary>Names to offer for an option naming a <typeparamref name="T"/>: registered models and C# variables holding one.</summary>
    public IReadOnlyList<string> ModelNames<T>() where T : class =>
        Models.NamesOf<T>().Concat(VariableNames<T>()).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Names of the C# variables whose value is a <typeparamref name="T"/>.</summary>
    public IReadOnlyList<string> VariableNames<T>() =>
        CSharp?.ScriptState?.Variables.Where(v => v.Value is T).Select(v => v.Name).Distinct(StringComparer.Ordinal).ToList() ?? [];
}
