using EfficientML.Interactive;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;

namespace EfficientML.Interactive.Tests;

/// <summary>
/// An in-process notebook kernel like the tool's (a composite with a C# kernel) with the extension loaded the
/// way a notebook's first cell loads it.
/// </summary>
sealed class TestKernel : IDisposable
{
    /// <summary>A model small enough that a step takes milliseconds.</summary>
    public const string TinyModelOptions = "--layers 1 --dim 16 --heads 2 --mlp 32 --context 32";

    /// <summary>The configuration <see cref="TinyModelOptions"/> describes.</summary>
    public static TinyGptConfig TinyConfig { get; } = new() { Layers = 1, Dim = 16, Heads = 2, KvHeads = 2, MlpDim = 32, ContextLength = 32 };

    public CompositeKernel Root { get; }
    public CSharpKernel CSharp { get; }
    public KernelCommandResult LoadResult { get; }

    TestKernel(CompositeKernel root, CSharpKernel csharp, KernelCommandResult loadResult)
    {
        Root = root;
        CSharp = csharp;
        LoadResult = loadResult;
    }

    public NotebookSession Session => NotebookSession.Of(Root) ?? throw new InvalidOperationException("The extension is not loaded.");

    public static async Task<TestKernel> StartAsync()
    {
        var csharp = new CSharpKernel().UseKernelHelpers().UseValueSharing();
        var root = new CompositeKernel { csharp };
        root.DefaultKernelName = csharp.Name;
        csharp.AddAssemblyReferences(new[] { typeof(Kernel).Assembly.Location, typeof(NotebookExtension).Assembly.Location });
        var result = await root.SendAsync(new SubmitCode(LoadCode, csharp.Name));
        AssertSucceeded(result);
        return new TestKernel(root, csharp, result);
    }

    public const string LoadCode = "EfficientML.Interactive.NotebookExtension.Load(Microsoft.DotNet.Interactive.Kernel.Root);";

    public Task<KernelCommandResult> SubmitAsync(string code) => Root.SendAsync(new SubmitCode(code, CSharp.Name));

    public async Task<KernelCommandResult> SucceedAsync(string code)
    {
        var result = await SubmitAsync(code);
        AssertSucceeded(result);
        return result;
    }

    public TinyGpt Model(string name) => Session.TryFindModel<TinyGpt>(name, out var model) ? model : throw new KeyNotFoundException(name);

    public void Dispose() => Root.Dispose();

    public static void AssertSucceeded(KernelCommandResult result)
    {
        var failure = result.Events.OfType<CommandFailed>().FirstOrDefault();
        Assert.True(failure is null, failure?.Message);
    }

    /// <summary>The one failure message of a command that must fail with exactly one clear error.</summary>
    public static string SingleFailure(KernelCommandResult result)
    {
        var failures = result.Events.OfType<CommandFailed>().ToList();
        Assert.Single(failures);
        Assert.Empty(result.Events.OfType<ErrorProduced>());
        return failures[0].Message;
    }

    /// <summary>Every text/html value displayed or updated by a command.</summary>
    public static IReadOnlyList<string> Html(KernelCommandResult result) =>
        result.Events.OfType<DisplayEvent>()
            .SelectMany(e => e.FormattedValues)
            .Where(v => v.MimeType == "text/html")
            .Select(v => v.Value)
            .ToList();

    public static object? ReturnValue(KernelCommandResult result) =>
        result.Events.OfType<ReturnValueProduced>().Single().Value;
}
