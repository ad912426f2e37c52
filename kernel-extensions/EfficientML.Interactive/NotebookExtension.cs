using System.Runtime.CompilerServices;
using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Entry point the notebook's first cell (or extension.dib) calls.</summary>
public static class NotebookExtension
{
    static readonly object Gate = new();
    static bool _processReady;

    /// <summary>
    /// The plug-ins of this extension, one per technique (<see cref="INotebookPlugin"/>), found in this assembly and
    /// ordered as the loaded banner lists their magics.
    /// </summary>
    public static IReadOnlyList<INotebookPlugin> Plugins { get; } = typeof(NotebookExtension).Assembly.GetTypes()
        .Where(t => typeof(INotebookPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (INotebookPlugin)Activator.CreateInstance(t, nonPublic: true)!)
        .OrderBy(p => p.Order).ThenBy(p => p.GetType().Name, StringComparer.Ordinal)
        .ToList();

    /// <summary>
    /// Loads TorchSharp's native library (and checks float32 arithmetic on this CPU), registers every plug-in's formatters
    /// and magic commands on <paramref name="kernel"/>'s root, lets C# cells use the library, and shows one "loaded"
    /// output that lists the magics and carries plotly.js. Calling it again is harmless.
    /// </summary>
    public static void Load(Kernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        // Before anything touches torch: once its type initialiser fails, only a kernel restart recovers.
        TorchNative.EnsureLoaded();
        // Before anything touches Plotly.NET, which asks for a newer FSharp.Core than the tool has loaded.
        FSharpCoreResolution.Install();
        LoadPlugins(kernel);
    }

    // Kept out of Load so the JIT meets Plotly and F# types only after the resolver is in place.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void LoadPlugins(Kernel kernel)
    {
        lock (Gate)
        {
            if (!_processReady)
            {
                TorchThreads.ApplyDefault();
                _processReady = true;
            }
            // Every time: a reset of the formatters is repaired by a reload; a registered type is skipped.
            var formatters = new FormatterSet();
            foreach (var plugin in Plugins) plugin.RegisterFormatters(formatters);
        }
        var session = NotebookSession.GetOrCreate(kernel, out bool created);
        if (created)
        {
            foreach (var plugin in Plugins) plugin.AddMagics(session.Magics);
            // Plain C# cells can then use the library's types (models, runs, charts) without a #r of their own.
            session.CSharp?.AddAssemblyReferences(new[]
            {
                typeof(TinyGpt).Assembly.Location,
                typeof(TorchSharp.torch).Assembly.Location,
                typeof(Plotly.NET.GenericChart).Assembly.Location,
                typeof(NotebookExtension).Assembly.Location,
            });
        }
        KernelInvocationContext.Current?.DisplayAs(LoadedBanner.Render(session), HtmlFormatter.MimeType);
    }
}
