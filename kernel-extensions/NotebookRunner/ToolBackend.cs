using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace NotebookRunner;

/// <summary>
/// The real dotnet-interactive tool (what VS Code runs), driven over <c>stdio</c> with JSON lines, installed through
/// the repository's local tool manifest. It does not exit at end of input, and killing only the <c>dotnet tool
/// run</c> wrapper leaves the kernel spinning: the whole process tree is always killed on dispose, timeout,
/// Ctrl+C and process exit.
/// </summary>
internal sealed class ToolBackend : IKernelBackend
{
    private static readonly ConcurrentDictionary<string, Lazy<Task>> Restores = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<ToolBackend, byte> Running = new();

    private readonly object _gate = new();
    private readonly Queue<string> _stderrTail = new();
    private Process? _process;
    private PendingCell? _pending;
    private Task? _stdoutPump;
    private Task? _stderrPump;
    private int _submissions;
    private bool _exited;
    private EventHandler? _killOnExit;

    public const string DisplayName = "dotnet-interactive tool";

    public string Name => DisplayName;

    public async Task StartAsync(string notebookDirectory, CancellationToken cancellationToken)
    {
        // The tool is found through the manifest above the notebook, or above the runner when the notebook lives
        // elsewhere; --working-dir then makes the notebook's folder the kernel's current directory.
        var manifestDirectory = RepositoryLayout.FindToolManifestDirectory(
                                    notebookDirectory, Environment.CurrentDirectory, AppContext.BaseDirectory)
                                ?? throw new InvalidOperationException(
                                    "no local tool manifest (.config/dotnet-tools.json) listing dotnet-interactive was found above the notebook or the runner");
        await Restores.GetOrAdd(manifestDirectory, dir => new Lazy<Task>(() => RestoreToolsAsync(dir))).Value
                      .WaitAsync(cancellationToken);

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = manifestDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in new[] { "tool", "run", "dotnet-interactive", "--", "stdio", "--default-kernel", "csharp", "--working-dir", notebookDirectory })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start `dotnet tool run dotnet-interactive`");
        _killOnExit = (_, _) => KillTree();
        AppDomain.CurrentDomain.ProcessExit += _killOnExit;
        Running[this] = 0;
        _stdoutPump = Task.Run(PumpStdoutAsync, CancellationToken.None);
        _stderrPump = Task.Run(PumpStderrAsync, CancellationToken.None);
    }

    public async Task<CellOutcome> RunCellAsync(string code, string kernelName, ICellOutputSink sink, CancellationToken cancellationToken)
    {
        var process = _process ?? throw new InvalidOperationException("The kernel has not been started.");
        var pending = new PendingCell($"notebook-runner-{Interlocked.Increment(ref _submissions)}", sink);
        lock (_gate)
        {
            _pending = pending;
            if (_exited)
            {
                pending.Complete(CellOutcome.Failure(ExitMessage("before this cell")));
            }
        }

        try
        {
            await process.StandardInput.WriteLineAsync(ToolEvents.SubmitCode(code, kernelName, pending.Token).AsMemory(), cancellationToken);
            await process.StandardInput.FlushAsync(cancellationToken);
        }
        catch (IOException)
        {
            pending.Complete(CellOutcome.Failure(ExitMessage("before the cell could be sent")));
        }

        await using var _ = cancellationToken.Register(() => pending.Cancel(cancellationToken));
        return await pending.Result;
    }

    private async Task PumpStdoutAsync()
    {
        var process = _process!;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            // A banner of plain text comes first; every event is one JSON object per line.
            if (!line.StartsWith('{'))
            {
                continue;
            }

            PendingCell? pending;
            lock (_gate)
            {
                pending = _pending;
            }

            if (pending is not null)
            {
                try
                {
                    using var json = JsonDocument.Parse(line);
                    ToolEvents.Dispatch(json.RootElement, pending);
                }
                catch (JsonException)
                {
                    // Not an event after all.
                }
            }
        }

        await process.WaitForExitAsync();
        lock (_gate)
        {
            _exited = true;
            _pending?.Complete(CellOutcome.Failure(ExitMessage("while the cell ran")));
        }
    }

    private async Task PumpStderrAsync()
    {
        var process = _process!;
        while (await process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_stderrTail)
            {
                _stderrTail.Enqueue(line);
                if (_stderrTail.Count > 30)
                {
                    _stderrTail.Dequeue();
                }
            }
        }
    }

    private string ExitMessage(string when)
    {
        string tail;
        lock (_stderrTail)
        {
            tail = string.Join("\n", _stderrTail).Trim();
        }

        var code = _process is { HasExited: true } p ? $" with code {p.ExitCode}" : "";
        return $"dotnet-interactive exited{code} {when}" + (tail.Length > 0 ? $":\n{tail}" : "");
    }

    private static async Task RestoreToolsAsync(string manifestDirectory)
    {
        var start = new ProcessStartInfo("dotnet", ["tool", "restore"])
        {
            WorkingDirectory = manifestDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var restore = Process.Start(start) ?? throw new InvalidOperationException("could not start `dotnet tool restore`");
        var stdout = restore.StandardOutput.ReadToEndAsync();
        var stderr = restore.StandardError.ReadToEndAsync();
        await restore.WaitForExitAsync();
        if (restore.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"`dotnet tool restore` failed in {manifestDirectory}:\n{(await stdout + await stderr).Trim()}");
        }
    }

    private void KillTree()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>Kills every running tool kernel now (a second Ctrl+C, before the process ends).</summary>
    public static void KillAll()
    {
        foreach (var backend in Running.Keys)
        {
            backend.KillTree();
        }
    }

    public async ValueTask DisposeAsync()
    {
        KillTree();
        Running.TryRemove(this, out _);
        if (_killOnExit is not null)
        {
            AppDomain.CurrentDomain.ProcessExit -= _killOnExit;
            _killOnExit = null;
        }

        foreach (var pump in new[] { _stdoutPump, _stderrPump })
        {
            if (pump is not null)
            {
                await pump.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        _process?.Dispose();
        _process = null;
    }
}
