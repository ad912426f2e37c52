using System.Globalization;

namespace NotebookRunner;

/// <summary>Parses the command line into the notebooks to run and the run's options.</summary>
internal static class CommandLine
{
    public const string Usage =
        "usage: NotebookRunner run <notebook.ipynb|notebook.dib|folder> [--out DIR] [--param NAME=VALUE ...] " +
        "[--backend inprocess|tool] [--cell-timeout SECONDS]\n" +
        "       NotebookRunner export <notebook.ipynb|notebook.dib|folder> --to script [--out DIR]";

    public const string Help = Usage + """


        Executes .ipynb and .dib notebooks cell by cell (a folder: every notebook in it, by name) and writes, per
        notebook, the executed .ipynb and one self-contained HTML page.

          --out DIR             where to write them (default: artifacts/notebooks in the repository, else ./executed)
          --param NAME=VALUE    set a parameter: a cell tagged 'injected-parameters' is inserted after the cell tagged
                                'parameters' (in .dib: whose first line is // parameters); repeatable
          --backend inprocess   a C# kernel inside the runner (default, fast)
          --backend tool        the real dotnet-interactive tool from the local tool manifest, as VS Code runs it
          --cell-timeout SECS   fail a cell that runs longer (default 900; 0 for no limit)

        Exit codes: 0 succeeded, 1 a cell failed (the first failure stops the run), 2 bad usage, 130 interrupted.

        export writes each notebook as a .NET 10 file-based app (dotnet run NAME.cs -- --quick): markdown as comments,
        each magic as its C# equivalent, the parameters cell as options, outputs into one offline HTML report.

          --to script           the only format
          --out DIR             where to write NAME.cs (default: the notebooks' folder's scripts/ subfolder)

        Exit codes: 0 written, 1 a notebook cannot be exported (the message names the cell and the magic), 2 bad usage.
        """;

    public static (IReadOnlyList<string> Notebooks, RunOptions Options) Parse(string[] args, string currentDirectory)
    {
        if (args.Length == 0)
        {
            throw new UsageException("expected the verb 'run' and a notebook or folder");
        }

        if (args[0] != "run")
        {
            throw new UsageException($"unknown verb '{args[0]}'; the verbs are 'run' and 'export'");
        }

        string? target = null;
        string? output = null;
        var parameters = new List<KeyValuePair<string, string>>();
        var backend = BackendKind.InProcess;
        TimeSpan? timeout = RunOptions.DefaultCellTimeout;
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 0)
            {
                (arg, inline) = (arg[..eq], arg[(eq + 1)..]);
            }

            string Value() => inline ?? (i + 1 < args.Length ? args[++i] : throw new UsageException($"{arg} needs a value"));
            switch (arg)
            {
                case "--out" or "-o":
                    output = Value();
                    break;
                case "--param" or "-p":
                    var pair = Value();
                    var split = pair.IndexOf('=');
                    if (split <= 0)
                    {
                        throw new UsageException($"--param expects NAME=VALUE, got '{pair}'");
                    }

                    parameters.Add(new(pair[..split].Trim(), pair[(split + 1)..]));
                    break;
                case "--backend" or "-b":
                    backend = Value().ToLowerInvariant() switch
                    {
                        "inprocess" or "in-process" => BackendKind.InProcess,
                        "tool" => BackendKind.Tool,
                        var other => throw new UsageException($"--backend must be 'inprocess' or 'tool', not '{other}'"),
                    };
                    break;
                case "--cell-timeout":
                    var text = Value();
                    if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0)
                    {
                        throw new UsageException($"--cell-timeout expects seconds (0 for none), got '{text}'");
                    }

                    timeout = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
                    break;
                default:
                    if (arg.StartsWith('-'))
                    {
                        throw new UsageException($"unknown option '{arg}'");
                    }

                    if (target is not null)
                    {
                        throw new UsageException($"one notebook or folder at a time; got '{target}' and '{arg}'");
                    }

                    target = arg;
                    break;
            }
        }

        if (target is null)
        {
            throw new UsageException("no notebook or folder given");
        }

        var notebooks = FindNotebooks(Path.GetFullPath(target, currentDirectory));
        var outputDirectory = Path.GetFullPath(output ?? RepositoryLayout.DefaultOutputDirectory(currentDirectory), currentDirectory);
        foreach (var notebook in notebooks)
        {
            if (string.Equals(NotebookExecution.IpynbPathFor(notebook, outputDirectory), notebook, StringComparison.Ordinal))
            {
                throw new UsageException($"--out {outputDirectory} would overwrite {notebook} itself; choose another folder");
            }
        }

        return (notebooks, new RunOptions(outputDirectory, parameters, backend, timeout));
    }

    /// <summary><c>export &lt;notebook|folder&gt; --to script [--out DIR]</c>: the notebooks and the output folder.</summary>
    public static (IReadOnlyList<string> Notebooks, string OutputDirectory) ParseExport(string[] args, string currentDirectory)
    {
        string? target = null, output = null, format = null;
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 0)
            {
                (arg, inline) = (arg[..eq], arg[(eq + 1)..]);
            }

            string Value() => inline ?? (i + 1 < args.Length ? args[++i] : throw new UsageException($"{arg} needs a value"));
            switch (arg)
            {
                case "--to":
                    format = Value();
                    break;
                case "--out" or "-o":
                    output = Value();
                    break;
                default:
                    if (arg.StartsWith('-'))
                    {
                        throw new UsageException($"unknown option '{arg}' for export");
                    }

                    target = target is null ? arg : throw new UsageException($"one notebook or folder at a time; got '{target}' and '{arg}'");
                    break;
            }
        }

        if (target is null)
        {
            throw new UsageException("export: no notebook or folder given");
        }

        if (format != "script")
        {
            throw new UsageException(format is null ? "export needs --to script" : $"export --to must be 'script', not '{format}'");
        }

        var full = Path.GetFullPath(target, currentDirectory);
        var notebooks = FindNotebooks(full);
        var folder = Directory.Exists(full) ? full : Path.GetDirectoryName(full)!;
        return (notebooks, Path.GetFullPath(output ?? ScriptExport.DefaultOutputDirectory(folder), currentDirectory));
    }

    private static IReadOnlyList<string> FindNotebooks(string target)
    {
        if (Directory.Exists(target))
        {
            var found = Directory.EnumerateFiles(target)
                                 .Where(NotebookFile.IsNotebook)
                                 .Order(StringComparer.Ordinal)
                                 .ToList();
            return found.Count > 0 ? found : throw new UsageException($"no .ipynb or .dib notebooks in {target}");
        }

        if (!File.Exists(target))
        {
            throw new UsageException($"{target} does not exist");
        }

        return NotebookFile.IsNotebook(target)
            ? [target]
            : throw new UsageException($"{target} is not a notebook (.ipynb or .dib)");
    }
}
