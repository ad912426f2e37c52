using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>
/// The exported scripts are real programs: the C# compiler accepts every one of them as written (with the real
/// #:project references), and two run end to end in quick mode and write their HTML report with its charts.
/// One class, so the builds of the same scripts never overlap.
/// </summary>
[Trait("Category", "Scripts")]
public sealed partial class ScriptRunTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_exported_script_compiles()
    {
        var failures = new List<string>();
        foreach (var script in Directory.EnumerateFiles(ScriptExportTests.ScriptsFolder, "*.cs").Order(StringComparer.Ordinal))
        {
            var clock = Stopwatch.StartNew();
            var (code, log) = Dotnet(["build", script, "-nologo", "-v", "quiet"], TimeSpan.FromMinutes(5));
            output.WriteLine($"{Path.GetFileName(script)}: exit {code} in {clock.Elapsed.TotalSeconds:0.0} s");
            if (code != 0) failures.Add($"{Path.GetFileName(script)}:\n{string.Join("\n", log.Split('\n').Where(l => l.Contains("error", StringComparison.Ordinal)).Distinct().Take(10))}");
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    [Theory]
    [InlineData("00-start-here", 3)]
    [InlineData("02-subcloning", 2)]
    public void A_script_runs_in_quick_mode_and_writes_its_report_with_charts(string name, int leastCharts)
    {
        var report = Path.Combine(Path.GetTempPath(), "notebooks-tests", $"{name}-{Guid.NewGuid():N}.html");
        try
        {
            var (code, log) = Dotnet(["run", Path.Combine(ScriptExportTests.ScriptsFolder, name + ".cs"), "--", "--quick", "--report", report], TimeSpan.FromMinutes(8));
            output.WriteLine(log);
            Assert.True(code == 0, $"{name}.cs exited with {code}:\n{log}");
            Assert.Contains($"Report: {report}", log);
            Assert.Matches(@"\[#{30}\] \d+/\d+ steps", log);   // training progress as a text progress bar
            var html = File.ReadAllText(report);
            Assert.Contains("✓ ran to the end", html);
            Assert.Contains("options: <code>quick=true</code>", html);
            Assert.Contains("window.Plotly", html);                 // plotly.js inline: the page works offline
            Assert.DoesNotMatch("<script[^>]+src=\"https?:", html);  // and loads nothing from the network
            Assert.True(Charts().Count(html) >= leastCharts, $"{name}'s report has {Charts().Count(html)} charts, expected at least {leastCharts}");
        }
        finally
        {
            File.Delete(report);
        }
    }

    [GeneratedRegex("class=\"efml-chart\"")]
    private static partial Regex Charts();

    /// <summary>Runs the dotnet CLI from the repository root; returns its exit code and everything it printed.</summary>
    private static (int Code, string Log) Dotnet(string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = ScriptExportTests.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{stdout.Result}\n{stderr.Result}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
