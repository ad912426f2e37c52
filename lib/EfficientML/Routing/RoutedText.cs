using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Routing;

/// <summary>
/// A routed model on one piece of text of any length, for showing what it does token by token: the text runs in
/// consecutive windows of the context length (each window starts afresh, as in evaluation).
/// </summary>
public static class RoutedText
{
    /// <summary>The expert of every token in every layer, (L, T) int64 on the CPU, for token ids <paramref name="tokens"/> (T of them).</summary>
    public static Tensor Experts(RoutedGpt routed, IReadOnlyList<int> tokens, ExpertChoice choice)
    {
        ArgumentNullException.ThrowIfNull(routed);
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count == 0) throw new InvalidSettingsException("Give at least one token.");
        int context = routed.Config.ContextLength;
        var parts = new List<Tensor>();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var ids = Ids(tokens, routed.Device);                                                    // (T)
        for (int start = 0; start < tokens.Count; start += context)
        {
            var window = ids.narrow(0, start, Math.Min(context, tokens.Count - start)).unsqueeze(0); // (1, t)
            using var output = routed.Run(window, choice);
            parts.Add(output.Experts.select(1, 0).cpu());                                         // (L, t)
        }
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The difficulty label (<see cref="DifficultyLabels.Compute"/>) of every token that has a next one: (T − 1) int64 on
    /// the CPU, label t being the smallest expert that predicts token t + 1 within <paramref name="tolerance"/> nats of the
    /// full model.
    /// </summary>
    public static Tensor Labels(RoutedGpt routed, IReadOnlyList<int> tokens, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(routed);
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count < 2) throw new InvalidSettingsException("Labels need at least two tokens (each is judged on predicting the next).");
        int context = routed.Config.ContextLength, predicted = tokens.Count - 1;
        var parts = new List<Tensor>();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var ids = Ids(tokens, routed.Device);
        for (int start = 0; start < predicted; start += context)
        {
            int length = Math.Min(context, predicted - start);
            var x = ids.narrow(0, start, length).unsqueeze(0);
            var y = ids.narrow(0, start + 1, length).unsqueeze(0);
            parts.Add(DifficultyLabels.Compute(routed, x, y, tolerance).select(0, 0).cpu());
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    static Tensor Ids(IReadOnlyList<int> tokens, Device device) =>
        tensor(tokens.Select(t => (long)t).ToArray(), dtype: ScalarType.Int64).to(device);
}
