using EfficientML.Benchmarks;
using EfficientML.Benchmarks.Suites;
using EfficientML.Core;

// dotnet run -c Release --project benchmarks -- <suite|all> [--quick]
var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
bool quick = args.Contains("--quick");
if (names.Count != 1 || args.Any(a => a.StartsWith("--", StringComparison.Ordinal) && a != "--quick"))
{
    Console.Error.WriteLine("Usage: dotnet run -c Release --project benchmarks -- <suite|all> [--quick]");
    Console.Error.WriteLine("Suites: " + string.Join(", ", Suites.All.Select(s => $"{s.Name} ({s.Description})")));
    return 2;
}
var chosen = names[0] == "all" ? Suites.All : Suites.All.Where(s => s.Name == names[0]).ToList();
if (chosen.Count == 0)
{
    Console.Error.WriteLine($"Unknown suite '{names[0]}'. Suites: all, {string.Join(", ", Suites.All.Select(s => s.Name))}.");
    return 2;
}
TorchThreads.ApplyDefault();
var root = Path.GetDirectoryName(ProjectPaths.Datasets)!;
Console.WriteLine($"device {Devices.Default.type}, {TorchThreads.Current} torch thread(s), {Environment.ProcessorCount} cores{(quick ? ", quick mode" : "")}");
foreach (var suite in chosen)
{
    var rows = suite.Run(quick, Console.Out);
    Report.PrintTable(suite.Name, rows, Console.Out);
    Console.WriteLine($"written to {Report.WriteJson(root, suite.Name, quick, rows)}");
}
return 0;
