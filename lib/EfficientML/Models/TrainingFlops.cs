namespace EfficientML.Models;

/// <summary>Arithmetic cost of training a <see cref="TinyGpt"/>, for compute-fair comparisons between model sizes.</summary>
public static class TrainingFlops
{
    /// <summary>Forward + backward cost per token: 6 per weight (embedding lookups excluded) plus 12·L·T·d for attention scores.</summary>
    public static double PerToken(TinyGptConfig c)
    {
        double nonEmbedding = c.ParameterCount - (double)c.ContextLength * c.Dim - (c.TiedHead ? 0 : (double)c.VocabSize * c.Dim);
        return 6 * nonEmbedding + 12.0 * c.Layers * c.ContextLength * c.Dim;
    }
}
