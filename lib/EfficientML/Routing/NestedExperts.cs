using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Routing;

/// <summary>
/// Nested experts inside a dense MLP: sort the hidden neurons by importance, then expert j is the first m_j of them.
/// Sorting permutes the rows of the first layer and the columns of the second, which leaves the function unchanged.
/// </summary>
public static class NestedExperts
{
    /// <summary>
    /// Importance of every hidden neuron of every block's MLP, (L, MlpDim): mean |activation| over the calibration tokens
    /// (B, T) times the norm of the neuron's outgoing weights, i.e. how much it writes into the residual stream on average.
    /// </summary>
    public static Tensor Importance(TinyGpt model, Tensor calibration)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>();
        RoutedGpt.Trace(model, calibration, (layer, mlpInput) =>
        {
            var mlp = model.blocks[layer].mlp;
            var activation = mlp.Activate(mlp.fc.forward(mlpInput)).abs().reshape(-1, model.Config.MlpDim).mean(new long[] { 0 });
            rows.Add(activation * mlp.proj.weight!.norm(0, false));
            return mlp.forward(mlpInput);
        });
        return stack(rows).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Sorts every MLP's hidden neurons of <paramref name="model"/> by decreasing <paramref name="importance"/> (L, MlpDim),
    /// in place. The model computes the same function (up to float summation order).
    /// </summary>
    public static void SortNeurons(TinyGpt model, Tensor importance)
    {
        var c = model.Config;
        if (importance.dim() != 2 || importance.shape[0] != c.Layers || importance.shape[1] != c.MlpDim)
            throw new InvalidSettingsException($"Importance must be (layers, MLP width) = ({c.Layers}, {c.MlpDim}), not [{string.Join(", ", importance.shape)}].");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        for (int l = 0; l < c.Layers; l++)
        {
            var mlp = model.blocks[l].mlp;
            var order = importance[l].argsort(descending: true).to(mlp.fc.weight!.device);
            mlp.fc.weight!.copy_(mlp.fc.weight.index_select(0, order));
            mlp.fc.bias!.copy_(mlp.fc.bias.index_select(0, order));
            mlp.proj.weight!.copy_(mlp.proj.weight.index_select(1, order));
        }
    }

    /// <summary>Expert output for MLP inputs (N, d) or (B, T, d): the MLP restricted to its first <paramref name="neurons"/> hidden neurons.</summary>
    public static Tensor Expert(Mlp mlp, Tensor input, int neurons)
    {
        if (neurons == mlp.fc.weight!.shape[0]) return mlp.forward(input); // the full expert is the dense MLP, bit for bit
        var hidden = F.linear(input, mlp.fc.weight.narrow(0, 0, neurons), mlp.fc.bias!.narrow(0, 0, neurons));
        return F.linear(mlp.Activate(hidden), mlp.proj.weight!.narrow(1, 0, neurons), mlp.proj.bias);
    }

    /// <summary>
    /// Routed execution that saves compute: tokens (..., d) are grouped by their expert (...) and each group runs through
    /// its expert's smaller matrices only; outputs are scattered back in token order. When every token has the same
    /// expert it runs on the input as it is (so the full expert gives the dense MLP's output bit for bit).
    /// </summary>
    public static Tensor Grouped(Mlp mlp, Tensor input, Tensor experts, ExpertSizes sizes)
    {
        CheckShape(input, experts);
        long n = experts.numel();
        long[] perExpert;
        try
        {
            using var counts = experts.reshape(-1).bincount(null, minlength: sizes.Count).cpu();
            perExpert = counts.data<long>().ToArray();
        }
        catch (System.Runtime.InteropServices.ExternalException)
        {
            throw OutOfRange(sizes); // bincount refuses negative indices
        }
        if (perExpert.Length > sizes.Count) throw OutOfRange(sizes);
        for (int j = 0; j < sizes.Count; j++)
            if (perExpert[j] == n) return Expert(mlp, input, sizes.Neurons[j]);
        using var scope = NewDisposeScope();
        var flat = input.reshape(n, -1);
        var flatExperts = experts.reshape(-1);
        var output = zeros_like(flat);
        for (int j = 0; j < sizes.Count; j++)
        {
            if (perExpert[j] == 0) continue;
            var rows = flatExperts.eq(j).nonzero().squeeze(1);
            output = output.index_copy(0, rows, Expert(mlp, flat.index_select(0, rows), sizes.Neurons[j]));
        }
        return output.reshape(input.shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The reference routed MLP: every token runs through the full MLP with the hidden neurons beyond its expert's
    /// size zeroed. Same result as <see cref="Grouped"/>, with no compute saved.
    /// </summary>
    public static Tensor Masked(Mlp mlp, Tensor input, Tensor experts, ExpertSizes sizes)
    {
        CheckExperts(input, experts, sizes);
        using var scope = NewDisposeScope();
        var hidden = mlp.Activate(mlp.fc.forward(input));                                      // (..., M)
        using var neurons = tensor(sizes.Neurons.Select(m => (long)m).ToArray(), device: input.device);
        var limits = neurons.index_select(0, experts.reshape(-1)).reshape(experts.shape);
        var keep = arange(sizes.Width, device: input.device).lt(limits.unsqueeze(-1));
        return mlp.proj.forward(hidden * keep.to(hidden.dtype)).MoveToOuterDisposeScope();
    }

    static void CheckExperts(Tensor input, Tensor experts, ExpertSizes sizes)
    {
        CheckShape(input, experts);
        if (experts.numel() > 0 && (experts.min().item<long>() < 0 || experts.max().item<long>() >= sizes.Count)) throw OutOfRange(sizes);
    }

    static InvalidSettingsException OutOfRange(ExpertSizes sizes) => new($"Expert indices must be 0..{sizes.Count - 1} ({sizes}).");

    static void CheckShape(Tensor input, Tensor experts)
    {
        if (input.shape[^1] == 0 || input.shape[..^1].Aggregate(1L, (a, b) => a * b) != experts.numel() || experts.dim() != input.dim() - 1)
            throw new InvalidSettingsException($"Experts must give one index per token: input [{string.Join(", ", input.shape)}] needs experts of shape " +
                                        $"[{string.Join(", ", input.shape[..^1])}], got [{string.Join(", ", experts.shape)}].");
        if (experts.dtype != ScalarType.Int64) throw new InvalidSettingsException($"Expert indices must be int64, not {experts.dtype}.");
    }
}
