using System.Diagnostics;
using System.Text;
using EfficientML.Core;

namespace EfficientML.Distributed;

/// <summary>What an MPI job printed and how it ended.</summary>
public sealed record MpiJob(int Processes, int ExitCode, string Output, string Errors, TimeSpan Elapsed, string CommandLine);

/// <summary>
/// Starts P processes of the library's command line (<c>efficientml</c>) under MPICH's <c>mpiexec.mpich -n P -launcher fork</c>,
/// from C#, a notebook cell or the command line itself; the processes form one <see cref="MpiCommunicator.World"/>.
/// </summary>
public static class MpiLauncher
{
    /// <summary>Most processes a launch may ask for.</summary>
    public const int MaxProcesses = 64;

    /// <summary>MPICH's launcher on the PATH (or on <paramref name="searchPath"/>), or one clear message naming the package to install.</summary>
    public static string Mpiexec(string? searchPath = null)
    {
        foreach (var dir in (searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "mpiexec.mpich");
            if (File.Exists(candidate)) return candidate;
        }
        throw new EfficientMLException(MpiCommunicator.InstallHint + " (mpiexec.mpich was not found on the PATH.)");
    }

    /// <summary>
    /// Runs <c>efficientml <paramref name="arguments"/></c> in <paramref name="processes"/> MPI processes, each with
    /// <paramref name="threads"/> torch threads, and waits (at most <paramref name="timeout"/>) for all of them.
    /// <paramref name="onLine"/> sees each line the processes print, as it comes.
    /// </summary>
    public static MpiJob Run(int processes, IEnumerable<string> arguments, int threads = 1, TimeSpan? timeout = null, Action<string>? onLine = null)
    {
        if (processes < 1 || processes > MaxProcesses) throw new InvalidSettingsException($"Launch 1 to {MaxProcesses} processes (got {processes}).");
        if (threads < 1) throw new InvalidSettingsException($"Each process needs at least one thread (got {threads}).");
        var mpiexec = Mpiexec();
        var cli = CommandLineProgram.Path();
        var start = new ProcessStartInfo(mpiexec)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-n", processes.ToString(), "-launcher", "fork", "dotnet", cli }.Concat(arguments)) start.ArgumentList.Add(a);
        start.Environment[TorchThreads.EnvironmentVariable] = threads.ToString();
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var commandLine = string.Join(' ', start.ArgumentList.Prepend(mpiexec));
        var output = new StringBuilder();
        var errors = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (output) output.AppendLine(e.Data); onLine?.Invoke(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is null) return; lock (errors) errors.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new EfficientMLException($"The MPI job did not finish within {(timeout ?? TimeSpan.FromMinutes(10)).TotalSeconds:0} s and was stopped: {commandLine}");
        }
        process.WaitForExit();
        return new MpiJob(processes, process.ExitCode, output.ToString(), errors.ToString(), clock.Elapsed, commandLine);
    }

    /// <summary>Like <see cref="Run"/>, but a job that fails throws its error output as one message.</summary>
    public static MpiJob RunChecked(int processes, IEnumerable<string> arguments, int threads = 1, TimeSpan? timeout = null, Action<string>? onLine = null)
    {
        var job = Run(processes, arguments, threads, timeout, onLine);
        if (job.ExitCode != 0)
        {
            // libtorch's start-up notes (NNPACK on CPUs it does not support) are not the failure; the processes' messages are.
            var message = string.Join('\n', job.Errors.Split('\n').Select(l => l.TrimEnd())
                .Where(l => l.Length > 0 && !l.Contains("NNPACK", StringComparison.Ordinal)).Distinct().Take(12));
            if (message.Length == 0)   // the process manager reports a rank that died on a signal on standard output
                message = string.Join('\n', job.Output.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).TakeLast(12));
            throw new EfficientMLException($"The MPI job of {processes} processes failed (exit code {job.ExitCode}): {message}");
        }
        return job;
    }
}

/// <summary>
/// Where the library's command-line program (EfficientML.Cli.dll) is: next to this library when the project using it references
/// the program (tests, benchmarks), else the repository's build of it, built (again) when missing or older than the sources.
/// </summary>
public static class CommandLineProgram
{
    const string FileName = "EfficientML.Cli.dll";
    static readonly object Gate = new();
    static string? _checked;

    /// <summary>The program's path; builds it once per process when the repository's build is missing or stale.</summary>
    public static string Path()
    {
        var here = System.IO.Path.GetDirectoryName(typeof(CommandLineProgram).Assembly.Location) ?? "";
        var beside = System.IO.Path.Combine(here, FileName);
        if (File.Exists(beside)) return beside;
        lock (Gate)
        {
            if (_checked != null) return _checked;
            var lib = System.IO.Path.Combine(Directory.GetParent(ProjectPaths.Datasets)!.FullName, "lib");
            var project = System.IO.Path.Combine(lib, "EfficientML.Cli");
            var built = Built(project);
            if (built == null || Stale(built, lib))
            {
                var build = Process.Start(new ProcessStartInfo("dotnet", ["build", project, "-c", "Release", "-v", "quiet", "-nologo"])
                { RedirectStandardOutput = true, RedirectStandardError = true })!;
                var log = build.StandardOutput.ReadToEnd() + build.StandardError.ReadToEnd();
                build.WaitForExit();
                built = build.ExitCode == 0 ? System.IO.Path.Combine(project, "bin", "Release", "net10.0", FileName) : null;
                if (built == null || !File.Exists(built)) throw new EfficientMLException($"Could not build the command line ({project}): {log.Trim()}");
            }
            return _checked = built;
        }
    }

    /// <summary>Whether the program or the library copied beside it is older than its sources.</summary>
    static bool Stale(string program, string lib)
    {
        var library = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(program)!, "EfficientML.dll");
        return !File.Exists(library) ||
               File.GetLastWriteTimeUtc(library) < NewestSource(System.IO.Path.Combine(lib, "EfficientML")) ||
               File.GetLastWriteTimeUtc(program) < NewestSource(System.IO.Path.Combine(lib, "EfficientML.Cli"));
    }

    static DateTime NewestSource(string folder) =>
        Directory.EnumerateFiles(folder, "*.*", SearchOption.AllDirectories)
            .Where(f => (f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal)) &&
                        !f.Contains($"{System.IO.Path.DirectorySeparatorChar}obj{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal) &&
                        !f.Contains($"{System.IO.Path.DirectorySeparatorChar}bin{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.GetLastWriteTimeUtc)
            .DefaultIfEmpty(DateTime.MinValue)
            .Max();

    static string? Built(string project) =>
        new[] { "Release", "Debug" }
            .Select(c => System.IO.Path.Combine(project, "bin", c, "net10.0", FileName))
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
}
