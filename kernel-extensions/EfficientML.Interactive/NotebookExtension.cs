using System.Runtime.CompilerServices;
using EfficientML.Core;
using EfficientML.Interactive.Formatters;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Entry point the notebook's first cell (or extension.dib) calls.</summary>
public static class NotebookExtension
{
    static int _threadsApplied;

    /// <summary>
    /// Loads TorchSharp's native library, registers the magic commands (<c>#!environment</c>, <c>#!model</c>,
    /// <c>#!train</c>, <c>#!hyperclone</c>, <c>#!subclone</c>, <c>#!race</c>, <c>#!cluster</c>, <c>#!route</c>, <c>#!speculate</c>) on <paramref name="kernel"/>'s root and the HTML formatters, lets C# cells use the library,
    /// and shows one "loaded" output that carries plotly.js. Calling it again is harmless.
    /// </summary>
    public static void Load(Kernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        // Before anything touches torch: once its type initialiser fails, only a kernel restart recovers.
        TorchNative.EnsureLoaded();
        // Before anything touches Plotly.NET, which asks for a newer FSharp.Core than the tool has loaded.
        FSharpCoreResolution.Install();
        LoadMagicsAndFormatters(kernel);
    }

    // Kept out of Load so the JIT meets Plotly and F# types only after the resolver is in place.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void LoadMagicsAndFormatters(Kernel kernel)
    {
        if (Interlocked.Exchange(ref _threadsApplied, 1) == 0) TorchThreads.ApplyDefault();
        FormatterRegistration.EnsureRegistered();
        var session = NotebookSession.GetOrCreate(kernel, out bool created);
        if (created)
        {
            EnvironmentMagic.AddTo(session.Root);
            ModelMagic.AddTo(session.Root, session);
            TrainMagic.AddTo(session.Root, session);
            HypercloneMagic.AddTo(session.Root, session);
            SubcloneMagic.AddTo(session.Root, session);
            RaceMagic.AddTo(session.Root, session);
            ClusterMagic.AddTo(session.Root, session);
            RouteMagic.AddTo(session.Root, session);
            SpeculateMagic.AddTo(session.Root, session);
            KeywordsMagic.AddTo(session.Root, session);
            ReparamMagic.AddTo(session.Root, session);
            // Plain C# cells can then use the library's types (models, runs, charts) without a #r of their own.
            session.CSharp?.AddAssemblyReferences(new[]
            {
                typeof(TinyGpt).Assembly.Location,
                typeof(TorchSharp.torch).Assembly.Location,
                typeof(Plotly.NET.GenericChart).Assembly.Location,
                typeof(NotebookExtension).Assembly.Location,
            });
        }
        KernelInvocationContext.Current?.DisplayAs(LoadedBanner.Render(), HtmlFormatter.MimeType);
    }
}
