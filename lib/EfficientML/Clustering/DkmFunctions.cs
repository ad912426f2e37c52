using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Clustering;

// The DKM step as three custom autograd functions with hand-written backward. What each backward needs goes through
// the step's StorePass (not ctx.save_for_backward), so a store can pack it (eDKM) and count it exactly.
// Shapes: G tables, n weights per table, k centroids. One step, T iterations:
//   A_t = SoftAssign(w, c_{t−1}),  c_t = CentroidUpdate(A_t, w),  W̃ = Reconstruct(A_T, c_T).
// Note: TorchSharp's Function node also keeps an uninitialised empty_like of each output (to materialise zero
// gradients), N × k for SoftAssign; that is not saved-for-backward data and is not counted here.

/// <summary>Per-step settings the functions share (a non-tensor argument to each function).</summary>
internal sealed record DkmStep(StorePass Pass, double Temperature, double Floor, bool Record);

/// <summary>The formulas, shared by forward and backward so both compute bit-identical logits.</summary>
internal static class DkmMath
{
    /// <summary>−(w − c)²/τ, broadcasting w (…, 1) against c (…, k).</summary>
    public static Tensor Logits(Tensor w, Tensor c, double tau) => (w - c).square().div(-tau);

    /// <summary>softmax over centroids, clamped at the floor (not renormalised, as coremltools does).</summary>
    public static Tensor Attention(Tensor logits, double floor)
    {
        var s = F.softmax(logits, -1);
        return floor > 0 ? s.clamp_min(floor) : s;
    }

    /// <summary>Σᵢ A_ij w_i / Σᵢ A_ij: A (G, n, k), w (G, n) → (G, k).</summary>
    public static Tensor Centroids(Tensor a, Tensor w) => a.transpose(1, 2).bmm(w.unsqueeze(-1)).squeeze(-1) / a.sum(1);

    /// <summary>Σⱼ A_ij c_j: A (G, n, k), c (G, k) → (G, n).</summary>
    public static Tensor Reconstruct(Tensor a, Tensor c) => a.bmm(c.unsqueeze(-1)).squeeze(-1);

    /// <summary>Records what backward will need to know about the function's inputs: the step, and the two tensors' shapes and device.</summary>
    public static void Remember(autograd.AutogradContext ctx, DkmStep step, Tensor first, Tensor second)
    {
        ctx.save_data("step", step);
        ctx.save_data("inputs", new[] { first.shape, second.shape });
        ctx.save_data("device", first.device);
    }

    /// <summary>
    /// Runs a backward body and then releases the function's saves. An exception must never cross into libtorch (it
    /// would end the process), so a failure is recorded on the store, reported once on stderr, and the gradients are NaN;
    /// <see cref="SavedTensorStore.ThrowIfFailed"/> (called by the next clustering step) raises it as a managed exception.
    /// </summary>
    public static List<Tensor> Backward(autograd.AutogradContext ctx, Func<DkmStep, long[], (Tensor, Tensor)> body)
    {
        var step = (DkmStep)ctx.get_data("step");
        var keys = ctx.get_data("keys") as long[] ?? [];
        try
        {
            var (first, second) = body(step, keys);
            return new List<Tensor> { first, second, null! };
        }
        catch (Exception e)
        {
            step.Pass.Store.Fail(e);
            var (shapes, device) = ((long[][])ctx.get_data("inputs"), (Device)ctx.get_data("device"));
            return new List<Tensor> { full(shapes[0], float.NaN, device: device), full(shapes[1], float.NaN, device: device), null! };
        }
        finally
        {
            foreach (var key in keys) step.Pass.Store.Release(key);
        }
    }
}

/// <summary>A = clamp(softmax(−(w − c)²/τ)): w (G, n), c (G, k) → (G, n, k). Saves A, w, c.</summary>
internal sealed class SoftAssign : autograd.SingleTensorFunction<SoftAssign>
{
    public override string Name => nameof(SoftAssign);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (w, c, step) = ((Tensor)vars[0], (Tensor)vars[1], (DkmStep)vars[2]);
        using var scope = NewDisposeScope();
        Tensor a;
        long aKey = 0;
        if (step.Pass.Unique is { } u)
        {
            // eDKM: the softmax on the R distinct values only (R ≤ 65,536 per table), then one row per weight.
            var cRows = c.index_select(0, u.RowTable);                                       // (R, k)
            var table = DkmMath.Attention(DkmMath.Logits(u.Values.unsqueeze(1), cRows, step.Temperature), step.Floor); // (R, k)
            a = u.Expand(table);                                                             // (G, n, k)
            if (step.Record) aKey = step.Pass.Save(a, SavedKind.Attention, table);
        }
        else
        {
            a = DkmMath.Attention(DkmMath.Logits(w.unsqueeze(-1), c.unsqueeze(1), step.Temperature), step.Floor); // (G, n, k)
            if (step.Record) aKey = step.Pass.Save(a, SavedKind.Attention);
        }
        if (step.Record)
            ctx.save_data("keys", new[] { aKey, step.Pass.Save(w, SavedKind.Weights), step.Pass.Save(c, SavedKind.Centroids) });
        DkmMath.Remember(ctx, step, w, c);
        return a.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradA) => DkmMath.Backward(ctx, (step, keys) =>
    {
        var store = step.Pass.Store;
        using var scope = NewDisposeScope();
        var (a, w, c) = (store.Load(keys[0]), store.Load(keys[1]), store.Load(keys[2]));      // (G, n, k), (G, n), (G, k)
        double tau = step.Temperature;
        var diff = w.unsqueeze(-1) - c.unsqueeze(1);                                          // (G, n, k)
        var logits = DkmMath.Logits(w.unsqueeze(-1), c.unsqueeze(1), tau);                    // (G, n, k)
        Tensor s = a, gs = gradA;
        if (step.Floor > 0)
        {
            // Clamped entries pass no gradient, and their softmax value s < floor is not in A: rebuild it exactly
            // from the row's largest entry (never clamped, it is ≥ 1/k): s_ij = s_im · exp(L_ij − L_im).
            var kept = a.gt(step.Floor);
            var rebuilt = a.amax(new long[] { -1 }, keepdim: true) * (logits - logits.amax(new long[] { -1 }, keepdim: true)).exp();
            s = where(kept, a, rebuilt);
            gs = gradA * kept;
        }
        var gl = s * (gs - (gs * s).sum(-1, keepdim: true));                                  // softmax backward, (G, n, k)
        // L = −(w − c)²/τ: ∂L/∂(w − c) = −2(w − c)/τ, then +1 towards w and −1 towards c (autograd's order of operations).
        var gd = gl.div(-tau) * (diff * 2);                                                   // (G, n, k)
        return (gd.sum(-1).MoveToOuterDisposeScope(), gd.sum(1).neg().MoveToOuterDisposeScope()); // (G, n), (G, k)
    });
}

/// <summary>c′ = Aᵀw / ΣA: A (G, n, k), w (G, n) → (G, k). Saves A, w.</summary>
internal sealed class CentroidUpdate : autograd.SingleTensorFunction<CentroidUpdate>
{
    public override string Name => nameof(CentroidUpdate);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (a, w, step) = ((Tensor)vars[0], (Tensor)vars[1], (DkmStep)vars[2]);
        if (step.Record)
            ctx.save_data("keys", new[] { step.Pass.Save(a, SavedKind.Attention), step.Pass.Save(w, SavedKind.Weights) });
        DkmMath.Remember(ctx, step, a, w);
        return DkmMath.Centroids(a, w);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradC) => DkmMath.Backward(ctx, (step, keys) =>
    {
        var store = step.Pass.Store;
        using var scope = NewDisposeScope();
        var (a, w) = (store.Load(keys[0]), store.Load(keys[1]));                              // (G, n, k), (G, n)
        var total = a.sum(1);                                                                 // S (G, k)
        var c = a.transpose(1, 2).bmm(w.unsqueeze(-1)).squeeze(-1) / total;                  // c′ = P/S (G, k)
        // c′_j = P_j/S_j with P_j = Σᵢ A_ij w_i, S_j = Σᵢ A_ij: ∂c′_j/∂A_ij = w_i/S_j − c′_j/S_j, ∂c′_j/∂w_i = A_ij/S_j.
        var gp = gradC / total;                                                               // (G, k)
        var gs = gradC.neg() * (c / total);                                                   // (G, k)
        var da = w.unsqueeze(-1) * gp.unsqueeze(1) + gs.unsqueeze(1);                         // (G, n, k)
        var dw = a.bmm(gp.unsqueeze(-1)).squeeze(-1);                                         // (G, n)
        return (da.MoveToOuterDisposeScope(), dw.MoveToOuterDisposeScope());
    });
}

/// <summary>W̃ = A c: A (G, n, k), c (G, k) → (G, n). Saves A, c.</summary>
internal sealed class Reconstruct : autograd.SingleTensorFunction<Reconstruct>
{
    public override string Name => nameof(Reconstruct);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (a, c, step) = ((Tensor)vars[0], (Tensor)vars[1], (DkmStep)vars[2]);
        if (step.Record)
            ctx.save_data("keys", new[] { step.Pass.Save(a, SavedKind.Attention), step.Pass.Save(c, SavedKind.Centroids) });
        DkmMath.Remember(ctx, step, a, c);
        return DkmMath.Reconstruct(a, c);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradW) => DkmMath.Backward(ctx, (step, keys) =>
    {
        var store = step.Pass.Store;
        using var scope = NewDisposeScope();
        var (a, c) = (store.Load(keys[0]), store.Load(keys[1]));                              // (G, n, k), (G, k)
        var da = gradW.unsqueeze(-1) * c.unsqueeze(1);                                        // (G, n, k)
        var dc = a.transpose(1, 2).bmm(gradW.unsqueeze(-1)).squeeze(-1);                      // (G, k)
        return (da.MoveToOuterDisposeScope(), dc.MoveToOuterDisposeScope());
    });
}
