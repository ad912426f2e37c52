namespace EfficientML.Benchmarks;

/// <summary>A named group of measurements (one per technique); later suites register in <c>Suites.All</c>.</summary>
public interface IBenchmarkSuite
{
    /// <summary>Name on the command line.</summary>
    string Name { get; }

    /// <summary>What the suite measures, one line.</summary>
    string Description { get; }

    /// <summary>Measures; <paramref name="quick"/> shrinks sizes and repeats so CI can smoke-test it.</summary>
    IReadOnlyList<Measurement> Run(bool quick, TextWriter log);
}
