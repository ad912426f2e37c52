using System.Reflection;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace NotebookRunner;

/// <summary>
/// A C# kernel in this process. The notebook loads the extension itself (by #r from artifacts/extension), so this
/// project must never reference it: a second copy of the same assembly would conflict.
/// The process's current directory is the notebook's folder while it runs, so relative paths resolve as in VS Code.
/// </summary>
internal sealed class InProcessBackend : IKernelBackend
{
    private CompositeKernel? _kernel;
    private string? _previousDirectory;

    public const string DisplayName = "in-process kernel";

    public string Name => DisplayName;

    public Task StartAsync(string notebookDirectory, CancellationToken cancellationToken)
    {
        // dotnet-interactive hosts an F# kernel, so its FSharp.Core is loaded before any notebook code runs, and
        // libraries asking for a newer one (Plotly.NET) must cope with that. Load ours up front the same way, so an
        // in-process run meets the assembly versions VS Code's kernel has instead of failing (or passing) differently.
        Assembly.Load(new AssemblyName("FSharp.Core"));
        _previousDirectory = Environment.CurrentDirectory;
        Environment.CurrentDirectory = notebookDirectory;

        var csharp = new CSharpKernel()
            .UseNugetDirective((kernel, packages) =>
            {
                kernel.AddAssemblyReferences(packages.SelectMany(p => p.AssemblyPaths));
                return Task.CompletedTask;
            })
            .UseKernelHelpers()
            .UseValueSharing();
        _kernel = new CompositeKernel { csharp };
        _kernel.DefaultKernelName = csharp.Name;
        return Task.CompletedTask;
    }

    public async Task<CellOutcome> RunCellAsync(string code, string kernelName, ICellOutputSink sink, CancellationToken cancellationToken)
    {
        var kernel = _kernel ?? throw new InvalidOperationException("The kernel has not been started.");
        if (kernel.FindKernelByName(kernelName) is null)
        {
            return CellOutcome.Failure(
                $"this cell is for the '{kernelName}' kernel, which the in-process back end lacks (it has C# only); run with --backend tool");
        }

        var command = new SubmitCode(code, kernelName);
        var errorsShown = new HashSet<string>();
        CellOutcome? failure = null;
        using var subscription = kernel.KernelEvents.Subscribe(new Observer(e =>
        {
            switch (e)
            {
                case DisplayedValueUpdated updated:
                    sink.Update(Convert(OutputKind.Display, updated));
                    break;
                case DisplayedValueProduced displayed:
                    sink.Add(Convert(OutputKind.Display, displayed));
                    break;
                case ReturnValueProduced returned:
                    sink.Add(Convert(OutputKind.ReturnValue, returned));
                    break;
                case StandardOutputValueProduced stdout:
                    sink.Add(Convert(OutputKind.StandardOutput, stdout));
                    break;
                case StandardErrorValueProduced stderr:
                    sink.Add(Convert(OutputKind.StandardError, stderr));
                    break;
                case ErrorProduced error when errorsShown.Add(error.Message):
                    sink.Add(CellOutput.Text(OutputKind.Error, error.Message));
                    break;
                case CommandFailed failed:
                    if (errorsShown.Add(failed.Message))
                    {
                        sink.Add(CellOutput.Text(OutputKind.Error, failed.Message));
                    }

                    if (ReferenceEquals(failed.Command, command))
                    {
                        failure = CellOutcome.Failure(failed.Message);
                    }

                    break;
            }
        }));

        var run = kernel.SendAsync(command, cancellationToken);
        await Task.WhenAny(run, Task.Delay(Timeout.Infinite, cancellationToken));
        if (cancellationToken.IsCancellationRequested)
        {
            // Cells that honour the kernel's cancellation (the training magic does) stop; a busy loop does not, so
            // stop waiting for it: the runner ends the run after a cancelled cell.
            _ = kernel.SendAsync(new Cancel());
            cancellationToken.ThrowIfCancellationRequested();
        }

        var result = await run;
        if (failure is null && result.Events.LastOrDefault() is CommandFailed last)
        {
            failure = CellOutcome.Failure(last.Message);
        }

        return failure ?? CellOutcome.Success;
    }

    private static CellOutput Convert(OutputKind kind, DisplayEvent e) =>
        new(kind, Formatted(e.FormattedValues), e.ValueId);

    private static List<MimeValue> Formatted(IEnumerable<FormattedValue> values) =>
        values.Where(v => !v.SuppressDisplay).Select(v => new MimeValue(v.MimeType, v.Value)).ToList();

    public ValueTask DisposeAsync()
    {
        _kernel?.Dispose();
        _kernel = null;
        if (_previousDirectory is not null)
        {
            Environment.CurrentDirectory = _previousDirectory;
            _previousDirectory = null;
        }

        return ValueTask.CompletedTask;
    }

    private sealed class Observer(Action<KernelEvent> onNext) : IObserver<KernelEvent>
    {
        public void OnNext(KernelEvent value) => onNext(value);

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }
}
