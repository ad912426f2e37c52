using System.Runtime.CompilerServices;

namespace EfficientML.Interactive.Scripting;

/// <summary>
/// What a notebook cell may call on the kernel, for scripts: <c>value.DisplayAs("text/html")</c> and <c>value.Display()</c>
/// show it in the script's report (<see cref="ScriptHost"/>). The exporter leaves cells unchanged and imports this namespace
/// instead of <c>Microsoft.DotNet.Interactive</c>.
/// </summary>
public static class ScriptDisplayExtensions
{
    /// <summary>Shows <paramref name="value"/> as <paramref name="mimeType"/> (text/html: inserted as it is).</summary>
    public static ScriptOutput DisplayAs(this string value, string mimeType, [CallerLineNumber] int line = 0) =>
        ScriptHost.Show(value, mimeType, line);

    /// <summary>Shows <paramref name="value"/>, drawn by its formatter.</summary>
    public static ScriptOutput Display(this object? value, [CallerLineNumber] int line = 0) => ScriptHost.Show(value, null, line);
}

/// <summary>
/// For scripts, the part of the kernel's <c>KernelInvocationContext</c> that tutorials use:
/// <c>KernelInvocationContext.Current.Display(value, mimeType)</c>, whose result can be <c>Update</c>d in place.
/// </summary>
public static class KernelInvocationContext
{
    /// <summary>The running script's outputs.</summary>
    public static ScriptContext Current { get; } = new();
}

/// <summary>What <see cref="KernelInvocationContext.Current"/> gives a script.</summary>
public sealed class ScriptContext
{
    internal ScriptContext() { }

    /// <summary>Shows <paramref name="value"/>; the returned output can be updated in place.</summary>
    public ScriptOutput Display(object? value, string? mimeType = null, [CallerLineNumber] int line = 0) =>
        ScriptHost.Show(value, mimeType, line);
}
