namespace EfficientML.Benchmarks.Suites;

/// <summary>Every suite, by name.</summary>
public static class Suites
{
    /// <summary>The registered suites, in the order <c>all</c> runs them.</summary>
    public static IReadOnlyList<IBenchmarkSuite> All { get; } = [new TinyGptSuite(), new CloningSuite(), new ClusteringSuite(), new RoutingSuite(), new SpeculativeSuite(), new SpeechSuite(), new NumericsSuite()];
}
