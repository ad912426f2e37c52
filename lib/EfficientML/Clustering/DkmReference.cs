using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Clustering;

/// <summary>The result of one DKM step: the soft-clustered weights and the centroids it ended with.</summary>
/// <param name="Weights">W̃ = A C, (G, n) float32; differentiable.</param>
/// <param name="Centroids">c_T, (G, k); differentiable.</param>
/// <param name="Iterations">Centroid updates run (at most <see cref="DkmOptions.Iterations"/>).</param>
public sealed record DkmStepResult(Tensor Weights, Tensor Centroids, int Iterations);

/// <summary>
/// DKM written with ordinary TorchSharp operations and differentiated by plain autograd: the reference the custom
/// functions (and so eDKM) are checked against. Same iterations, same early stop, same clamp. Autograd keeps what it
/// keeps (distances, softmax, clamped attention per iteration), which is the memory eDKM sets out to cut.
/// </summary>
public static class DkmReference
{
    /// <summary>One DKM step on 16-bit-rounded weights <paramref name="w"/> (G, n) from centroids <paramref name="c0"/> (G, k).</summary>
    public static DkmStepResult Step(Tensor w, Tensor c0, DkmOptions options)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(c0);
        options = (options ?? new DkmOptions()).Validate();
        var (tau, floor) = (options.Temperature, options.AttentionFloor);
        Tensor c = c0, a = null!, next = null!;
        int t;
        for (t = 1; ; t++)
        {
            var d2 = (w.unsqueeze(-1) - c.unsqueeze(1)).square();                           // (G, n, k)
            var s = F.softmax(d2.div(-tau), -1);                                             // (G, n, k)
            a = floor > 0 ? s.clamp_min(floor) : s;
            next = a.transpose(1, 2).bmm(w.unsqueeze(-1)).squeeze(-1) / a.sum(1);            // (G, k)
            if (t == options.Iterations || Converged(c, next, options.Tolerance)) break;
            c = next;
        }
        var output = a.bmm(next.unsqueeze(-1)).squeeze(-1);                                  // (G, n)
        return new DkmStepResult(output, next, t);
    }

    /// <summary>True when no centroid moved by more than <paramref name="tolerance"/> (0 = never converged).</summary>
    internal static bool Converged(Tensor before, Tensor after, double tolerance)
    {
        if (tolerance <= 0) return false;
        using var _ = no_grad();
        using var change = (after - before).abs().max();
        return change.item<float>() <= tolerance;
    }
}
