using EfficientML.Core;
namespace EfficientML.Routing;

/// <summary>
/// The nested experts of one MLP of hidden width <see cref="Width"/>: expert j is the first <c>Neurons[j]</c> hidden
/// neurons (after they are sorted by importance), so every expert contains the smaller ones and no weights are added.
/// The last expert is the whole MLP.
/// </summary>
public sealed record ExpertSizes
{
    /// <summary>¼, ½, ¾ and all of the width.</summary>
    public static IReadOnlyList<double> DefaultFractions { get; } = [0.25, 0.5, 0.75, 1.0];

    ExpertSizes(int width, int[] neurons)
    {
        Width = width;
        Neurons = neurons;
    }

    /// <summary>Hidden width of the MLP.</summary>
    public int Width { get; }

    /// <summary>Hidden neurons of each expert, increasing; the last equals <see cref="Width"/>.</summary>
    public IReadOnlyList<int> Neurons { get; }

    /// <summary>Number of experts.</summary>
    public int Count => Neurons.Count;

    /// <summary>Index of the full expert (the dense MLP).</summary>
    public int Full => Neurons.Count - 1;

    /// <summary>Share of the MLP expert <paramref name="j"/> uses.</summary>
    public double Fraction(int j) => Neurons[j] / (double)Width;

    /// <summary>Experts as fractions of <paramref name="width"/> (default ¼, ½, ¾, 1).</summary>
    public static ExpertSizes FromFractions(int width, IReadOnlyList<double>? fractions = null)
    {
        fractions ??= DefaultFractions;
        if (width < 1) throw new InvalidSettingsException($"The MLP width must be positive, not {width}.");
        var neurons = new int[fractions.Count];
        for (int j = 0; j < fractions.Count; j++)
        {
            var f = fractions[j];
            if (!(f > 0 && f <= 1))
                throw new InvalidSettingsException($"Expert size {f} is not a fraction of the width in (0, 1]: give sizes such as 0.25, 0.5, 0.75, 1.");
            var n = f * width;
            if (Math.Abs(n - Math.Round(n)) > 1e-6)
                throw new InvalidSettingsException($"Expert size {f} of an MLP {width} wide is {n:0.###} neurons, not a whole number: choose fractions that divide the width " +
                    $"(e.g. multiples of 1/{Gcd(width, 64)}), or give neuron counts.");
            neurons[j] = (int)Math.Round(n);
        }
        return FromNeurons(width, neurons);
    }

    /// <summary>Experts as hidden-neuron counts of an MLP <paramref name="width"/> wide.</summary>
    public static ExpertSizes FromNeurons(int width, IReadOnlyList<int> neurons)
    {
        if (width < 1) throw new InvalidSettingsException($"The MLP width must be positive, not {width}.");
        if (neurons.Count < 2) throw new InvalidSettingsException($"Routing needs at least two expert sizes (got {neurons.Count}): e.g. ¼, ½, ¾ and all of the width.");
        for (int j = 0; j < neurons.Count; j++)
        {
            if (neurons[j] < 1 || neurons[j] > width)
                throw new InvalidSettingsException($"Expert {j} has {neurons[j]} neurons; each must have 1..{width} (the MLP width).");
            if (j > 0 && neurons[j] <= neurons[j - 1])
                throw new InvalidSettingsException($"Expert sizes must increase ({string.Join(", ", neurons)}): list them from smallest to largest, each once.");
        }
        if (neurons[^1] != width)
            throw new InvalidSettingsException($"The largest expert has {neurons[^1]} neurons but the MLP has {width}: end the list with the full width (fraction 1), " +
                "so that routing every token to it reproduces the dense model.");
        return new ExpertSizes(width, neurons.ToArray());
    }

    static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    public override string ToString() => $"{string.Join("/", Neurons)} of {Width} neurons";
}
