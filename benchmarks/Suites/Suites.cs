namespace EfficientML.Benchmarks.Suites;

/// <summary>Every suite, by name: each technique's suite is a class of its own in this folder, found here, so a new one edits nothing shared.</summary>
public static class Suites
{
    /// <summary>The order <c>all</c> runs them in: the core model first, then the techniques as the notebooks number them.</summary>
    static readonly string[] Order = ["tinygpt", "cloning", "clustering", "routing", "speculative", "speech", "numerics"];

    /// <summary>The suites, in <see cref="Order"/>; suites it does not name run last, by name.</summary>
    public static IReadOnlyList<IBenchmarkSuite> All { get; } = typeof(Suites).Assembly.GetTypes()
        .Where(t => typeof(IBenchmarkSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t => (IBenchmarkSuite)Activator.CreateInstance(t)!)
        .OrderBy(s => Array.IndexOf(Order, s.Name) is var i and >= 0 ? i : int.MaxValue).ThenBy(s => s.Name, StringComparer.Ordinal)
        .ToList();
}
