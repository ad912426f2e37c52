using EfficientML.Core;

namespace EfficientML.Pipeline;

/// <summary>One pair of steps that cannot run in this order.</summary>
/// <param name="Step">The step refused.</param>
/// <param name="After">The step it cannot follow.</param>
/// <param name="Why">The reason, in words.</param>
public sealed record OrderRule(string Step, string After, string Why);

/// <summary>
/// Which orders of the built-in steps can work. Each step runs once; the rules below name every pair that cannot, with
/// the reason, so an impossible order is refused before any work with one message.
/// </summary>
public static class PipelineOrder
{
    /// <summary>Every pair of steps that cannot run in this order, with the reason.</summary>
    public static IReadOnlyList<OrderRule> Rules { get; } =
    [
        new("grow", "route", "HyperCloning grows a dense model; the routers have no grower"),
        new("grow", "cluster", "growing would scale the palettes' values and the clustering fine-tune would be lost; palettise the grown model instead"),
        new("grow", "decode", "the accelerators and the decoder picked belong to the smaller model"),
        new("train", "route", "training the experts afresh would leave the routers' choices stale; the routing step fine-tunes experts and routers together"),
        new("train", "cluster", "training would move the weights off their palettes; the clustering step fine-tunes with the palettes in place"),
        new("train", "decode", "the accelerators and the decoder picked belong to the weights before training"),
        new("route", "cluster", "the routing step fine-tunes the experts, which would move the weights off their palettes"),
        new("route", "decode", "the decoder picked belongs to the weights before routing"),
        new("cluster", "decode", "the accelerators and the decoder picked belong to the weights before clustering"),
        new("draft", "decode", "the decode step races the draft model, so it has to exist first"),
    ];

    /// <summary>
    /// Throws <see cref="InvalidSettingsException"/> with one message when <paramref name="next"/>, run after
    /// <paramref name="done"/>, is an order that cannot work: a step twice, a step after export, or a pair of <see cref="Rules"/>.
    /// </summary>
    public static void Check(IReadOnlyList<string> done, IReadOnlyList<string> next)
    {
        var all = done.Concat(next).ToList();
        var twice = all.GroupBy(s => s).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
            throw new InvalidSettingsException(done.Contains(twice.Key)
                ? $"Step '{twice.Key}' has already run on this model: each step runs once. Start a new pipeline to run it again, or leave it out."
                : $"Step '{twice.Key}' is listed twice: each step runs once. Leave one out.");
        int export = all.IndexOf("export");
        if (export >= 0 && export < all.Count - 1)
            throw new InvalidSettingsException($"Step '{all[export + 1]}' comes after 'export': export writes the finished model, so it must be the last step. Move 'export' to the end.");
        for (int i = 0; i < all.Count; i++)
            foreach (var rule in Rules.Where(r => r.Step == all[i]))
                if (all.IndexOf(rule.After) is int j && j >= 0 && j < i)
                    throw new InvalidSettingsException($"Step '{rule.Step}' cannot come after '{rule.After}': {rule.Why}. Put '{rule.Step}' before '{rule.After}'.");
    }
}
