using System.Globalization;
using System.Runtime.CompilerServices;
using EfficientML.Core;

namespace EfficientML.Interactive.Scripting;

/// <summary>
/// The host of a tutorial exported as a .NET file-based app (<c>NotebookRunner export --to script</c>): it does what the
/// notebook's first cell and kernel do. <see cref="Start"/> loads torch and registers the extension's formatters; the
/// parameters cell becomes <see cref="Option{T}"/> calls (command-line options); <see cref="display"/>, <c>DisplayAs</c>
/// and <c>LiveView.Follow</c> collect what a notebook would show into one offline HTML report (same look as the runner's
/// pages) with training progress on the console; <see cref="Finish"/> writes the report and prints its path.
/// This namespace is separate from <c>EfficientML.Interactive</c> so that its <c>display</c> and <c>DisplayAs</c> never meet
/// the kernel's own in a notebook.
/// </summary>
public sealed class ScriptHost
{
    static ScriptHost? _current;
    readonly List<string> _args;
    readonly List<(string Name, string Type, string Default)> _options = new();
    bool _optionsEnded;
    bool _finished;

    ScriptHost(string name, string[] args)
    {
        Name = name;
        _args = args.ToList();
        Report = new ScriptReport(name);
    }

    /// <summary>The script running in this process, or null in a notebook (or any other program).</summary>
    public static ScriptHost? Current => Volatile.Read(ref _current);

    /// <summary>The tutorial's name (the notebook's file name without extension).</summary>
    public string Name { get; }

    /// <summary>What the script has shown so far, and where it is written.</summary>
    public ScriptReport Report { get; }

    /// <summary>
    /// Starts the script called <paramref name="name"/> with its command line <paramref name="args"/> and makes this process
    /// a script host for <see cref="display"/>, <c>DisplayAs</c> and <c>LiveView.Follow</c>. <see cref="EndOptions"/> then
    /// loads TorchSharp's native library (and checks float32 on this CPU) and registers every plug-in's formatters, so that
    /// <c>--help</c> and a mistyped option answer at once. A second call returns the first host.
    /// </summary>
    public static ScriptHost Start(string name, string[] args)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(args);
        if (Current is { } running) return running;
        FindDatasets();
        var host = new ScriptHost(name, args);
        Volatile.Write(ref _current, host);
        // A failing statement ends the program: the report is still written, marked failed, with what ran before it.
        AppDomain.CurrentDomain.UnhandledException += (_, e) => host.Write(e.ExceptionObject as Exception);
        return host;
    }

    /// <summary>
    /// A script runs from a build folder outside the repository: when the current directory does not lead to the
    /// datasets, the folder of the script's own file does (a file-based app knows its path).
    /// </summary>
    static void FindDatasets()
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ProjectPaths.EnvironmentVariable))) return;
        if (AppContext.GetData("EntryPointFileDirectoryPath") is not string folder) return;
        for (var dir = new DirectoryInfo(folder); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "datasets");
            if (File.Exists(System.IO.Path.Combine(candidate, "text", "moby-dick.txt.gz")))
            {
                Environment.SetEnvironmentVariable(ProjectPaths.EnvironmentVariable, candidate);
                return;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void RegisterFormatters()
    {
        TorchThreads.ApplyDefault();
        var formatters = new FormatterSet();
        foreach (var plugin in NotebookExtension.Plugins) plugin.RegisterFormatters(formatters);
    }

    /// <summary>
    /// The value of the option <c>--<paramref name="name"/></c> (the notebook's parameter of that name), or
    /// <paramref name="fallback"/> (its default) when the command line does not give it. A <c>bool</c> is a switch:
    /// <c>--quick</c> alone is true, <c>--quick=false</c> false. Other types take a value: <c>--steps 5</c> or <c>--steps=5</c>.
    /// </summary>
    public T Option<T>(string name, T fallback)
    {
        ArgumentNullException.ThrowIfNull(name);
        _options.Add((name, CSharpName(typeof(T)), fallback is bool b ? (b ? "true" : "false") : Convert.ToString(fallback, CultureInfo.InvariantCulture) ?? "null"));
        var flag = "--" + name;
        for (int i = 0; i < _args.Count; i++)
        {
            var arg = _args[i];
            string? text = null;
            if (arg == flag)
            {
                if (typeof(T) == typeof(bool)) text = "true";
                else if (i + 1 < _args.Count) { text = _args[i + 1]; _args.RemoveAt(i + 1); }
                else Fail($"{flag} needs a value ({typeof(T).Name}).");
            }
            else if (arg.StartsWith(flag + "=", StringComparison.Ordinal)) text = arg[(flag.Length + 1)..];
            else continue;
            _args.RemoveAt(i);
            Report.Parameters.Add($"{name}={text}");
            return Parse<T>(flag, text!);
        }
        return fallback;
    }

    /// <summary>Ends the options: <c>--help</c> lists them, anything the script does not know is a usage error (exit code 2).</summary>
    public void EndOptions()
    {
        if (_optionsEnded) return;
        _optionsEnded = true;
        _options.Add(("report", "path", Report.Path));
        if (_args.Contains("--help") || _args.Contains("-h"))
        {
            Console.WriteLine(Usage());
            Environment.Exit(0);
        }
        int report = _args.FindIndex(a => a == "--report" || a.StartsWith("--report=", StringComparison.Ordinal));
        if (report >= 0)
        {
            var value = _args[report].Length > "--report".Length ? _args[report]["--report=".Length..]
                      : report + 1 < _args.Count ? _args[report + 1] : null;
            if (string.IsNullOrWhiteSpace(value)) Fail("--report needs the path of the HTML file to write.");
            _args.RemoveRange(report, _args[report] == "--report" ? 2 : 1);
            Report.Path = System.IO.Path.GetFullPath(value!);
        }
        if (_args.Count > 0) Fail($"unknown option '{_args[0]}'.");
        Ready();
    }

    int _ready;

    /// <summary>What a notebook's first cell does: torch loaded before anything touches it, the formatters registered. Once.</summary>
    static void Ready()
    {
        var host = Current;
        if (host is null || Interlocked.Exchange(ref host._ready, 1) == 1) return;
        TorchNative.EnsureLoaded();
        FSharpCoreResolution.Install();
        RegisterFormatters();
    }

    static string CSharpName(Type type) => Type.GetTypeCode(type) switch
    {
        TypeCode.Boolean => "bool", TypeCode.Int32 => "int", TypeCode.Int64 => "long", TypeCode.Double => "double",
        TypeCode.Single => "float", TypeCode.String => "string", _ => type.Name,
    };

    string Usage() =>
        $"usage: dotnet run {Name}.cs -- " + string.Join(" ", _options.Select(o => o.Type == "bool" ? $"[--{o.Name}]" : $"[--{o.Name} {o.Type.ToUpperInvariant()}]")) + "\n" +
        string.Join("\n", _options.Select(o => $"  --{o.Name,-12} {o.Type} (default {o.Default})"));

    void Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        Console.Error.WriteLine(Usage());
        Environment.Exit(2);
    }

    T Parse<T>(string flag, string text)
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            object value = type.IsEnum ? Enum.Parse(type, text, ignoreCase: true)
                         : type == typeof(string) ? text
                         : type == typeof(bool) ? bool.Parse(text)
                         : Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
            return (T)value;
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException or ArgumentException)
        {
            Fail($"{flag} expects a {type.Name}, not '{text}'.");
            throw; // not reached
        }
    }

    /// <summary>
    /// Shows <paramref name="value"/> as a notebook would: in the report, drawn by the extension's formatters (charts,
    /// tables, models), and on the console as text. Scripts call it as <c>display(value)</c> (after
    /// <c>using static EfficientML.Interactive.Scripting.ScriptHost;</c>), as notebooks do.
    /// </summary>
#pragma warning disable IDE1006 // the notebook kernel's name, so that cells run unchanged
    public static ScriptOutput display(object? value, [CallerLineNumber] int line = 0) => Show(value, null, line);
#pragma warning restore IDE1006

    /// <summary>Shows <paramref name="value"/> with a MIME type (<c>text/html</c>: inserted as it is; <c>text/plain</c>: as text).</summary>
    public static ScriptOutput Show(object? value, string? mimeType, int line = 0)
    {
        var host = Current ?? throw new InvalidOperationException("display(…) in a script needs ScriptHost.Start(name, args) first.");
        Ready();
        host.Echo(value, mimeType);
        return host.Report.Add(value, mimeType, line);
    }

    void Echo(object? value, string? mimeType)
    {
        switch (value)
        {
            case null: Console.WriteLine("null"); return;
            case string text when mimeType is null or "text/plain": Console.WriteLine(text); return;
            case string: Console.WriteLine("  ↳ HTML output, in the report"); return;
        }
        var toString = value.GetType().GetMethod(nameof(ToString), Type.EmptyTypes);
        // Charts (Plotly.NET's F# types print their structure) and arrays are shown only in the report.
        bool readable = toString is not null && toString.DeclaringType != typeof(object) && !value.GetType().IsArray &&
                        value.GetType().Namespace?.StartsWith("Plotly", StringComparison.Ordinal) != true;
        Console.WriteLine(readable ? Shorten(value.ToString() ?? "") : $"  ↳ {TypeName(value.GetType())}, in the report");
    }

    static string TypeName(Type type) => type.IsGenericType ? type.Name[..type.Name.IndexOf('`')] : type.Name;

    static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + " …";

    /// <summary>
    /// What <c>LiveView.Follow</c> does in a script: a progress bar on the console while <paramref name="runs"/> train, and
    /// <paramref name="final"/> (drawn when the report is written, so as the runs ended) in the report.
    /// </summary>
    internal void Follow(IReadOnlyList<TrainingRun> runs, string? title, object final)
    {
        Ready();
        Report.Add(final, null, 0);
        var bar = new ConsoleProgress(runs, title);
        foreach (var run in runs) run.Updated += _ => bar.Update();
        bar.Update();
    }

    /// <summary>Writes the report and prints its path; the script's last statement.</summary>
    public void Finish()
    {
        Write(null);
    }

    void Write(Exception? failure)
    {
        lock (Report)
        {
            if (_finished) return;
            _finished = true;
        }
        var path = Report.Write(failure);
        Console.WriteLine();
        Console.WriteLine($"{(failure is null ? "Report" : "Partial report (the script failed)")}: {path}");
    }
}
