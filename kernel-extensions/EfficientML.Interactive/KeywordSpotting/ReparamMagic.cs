using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!reparam</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class ReparamCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => ReparamMagic.ToCSharp(this);

    /// <summary>
    /// The features <c>--features</c> takes, for C#: <see cref="KeywordFeatures"/> or a (batch, mels, frames) tensor, at most
    /// 64 clips, on the CPU; null gives 8 seeded random clips (what the magic uses without <c>--features</c>).
    /// </summary>
    public static Tensor FeaturesFor(object? value, RepCnn model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (value is null) return randn([8, model.Config.Mels, 98], generator: new Generator(0));
        var tensor = value switch
        {
            KeywordFeatures f => f.Features,
            Tensor t => t,
            _ => throw new MagicException($"--features is a {value.GetType().Name}; pass KeywordFeatures or a features tensor (batch, mels, frames)."),
        };
        if (tensor.dim() != 3 || tensor.shape[1] != model.Config.Mels)
            throw new MagicException($"--features has shape [{string.Join(", ", tensor.shape)}]; the model takes (batch, {model.Config.Mels}, frames).");
        return tensor[..(int)Math.Min(64, tensor.shape[0])].cpu();
    }

    /// <summary>C# variable holding the trained multi-branch RepCnn.</summary>
    public OptionText? Model { get; set; }
    /// <summary>C# variable holding KeywordFeatures or a features tensor to check on.</summary>
    public OptionText? Features { get; set; }
    /// <summary>Variable name of the folded copy.</summary>
    public OptionText? Name { get; set; }
    /// <summary>Variable name of the report.</summary>
    public OptionText? Result { get; set; }
    /// <summary>Block whose kernels are pictured.</summary>
    public OptionText? Block { get; set; }
    /// <summary>Output channel pictured.</summary>
    public OptionText? Channel { get; set; }
    /// <summary>Timing repeats.</summary>
    public OptionText? Repeats { get; set; }
}

/// <summary>
/// <c>#!reparam</c>: folds a copy of a trained RepCNN into one conv per block, checks that it computes the same logits,
/// times both, and pictures one block's branches and their sum. C#: <c>Reparameterization.FoldCopy(model, features)</c>.
/// </summary>
static class ReparamMagic
{
    /// <summary>
    /// C# equivalent: <c>var (NAME, RESULT) = Reparameterization.FoldCopy(model, features, repeats);</c> and the report
    /// (features as <c>--features</c> takes them: <see cref="ReparamCommand.FeaturesFor"/>).
    /// </summary>
    internal static string ToCSharp(ReparamCommand c)
    {
        CSharpSource.Refuse(Name, ("--block", c.Block != null), ("--channel", c.Channel != null));
        if (c.Model is null) throw new MagicException("#!reparam needs --model NAME, the C# variable holding a trained RepCnn, e.g. --model repcnn.");
        var model = OptionValues.VariableName(c.Model, "--model", "model");
        var name = OptionValues.VariableName(c.Name, "--name", $"{model}_folded");
        var result = OptionValues.VariableName(c.Result, "--result", DefaultResultName);
        int repeats = OptionValues.Int(c.Repeats, "--repeats", DefaultRepeats, min: 1, max: Reparameterization.MaxRepeats);
        var features = c.Features is null ? "null" : OptionValues.VariableName(c.Features, "--features", "features");
        return $"var ({name}, {result}) = Reparameterization.FoldCopy({model}, ReparamCommand.FeaturesFor({features}, {model}), {repeats});\n" +
               $"display({result});";
    }

    public const string Name = "#!reparam";
    public const string DefaultResultName = "reparam";
    const int DefaultRepeats = 100;

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var directive = new KernelActionDirective(Name)
        {
            Description = "Re-parameterises a trained RepCNN: a copy is put in evaluation mode and each block's branches (k-wide conv + BN, " +
                          "1-wide conv + BN, identity BN) are folded into one conv with bias. Checks the copy gives the same logits " +
                          "(max |Δ| ≤ 1e-5 of the largest |logit|), times both at batch 1, and pictures one block's kernels: branch + branch + identity = folded. " +
                          "The original is not changed; the folded copy (--name) and the report (--result) become C# variables. " +
                          "C#: Reparameterization.FoldCopy(model, features).",
        };
        directive.Parameters.Add(ModelOption.Create<RepCnn>(session, "--model", "C# variable holding the trained multi-branch RepCnn (required)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--features",
            "C# variable holding KeywordFeatures (e.g. the test split's) or a features tensor (batch, mels, frames) to compare the logits on; " +
            "its first 64 clips are used (default: 8 windows of random features)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--name", "Variable name for the folded copy (default '<model>_folded')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--result", $"Variable name for the ReparameterizationReport (default '{DefaultResultName}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--block", "Block whose kernels are pictured (default: the first with an identity branch)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--channel", "Output channel of that block pictured (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--repeats", $"Timed calls of each model, alternating, batch 1 (default {DefaultRepeats})."));
        magics.Add<ReparamCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    static async Task RunAsync(ReparamCommand c, KernelInvocationContext context, NotebookSession session)
    {
        if (c.Model is null)
            throw new MagicException("#!reparam needs --model NAME, the C# variable holding a trained RepCnn, e.g. --model repcnn.");
        var modelName = c.Model.Trim();
        var model = ModelOption.Find<RepCnn>(session, modelName, "fold",
            $"Make one in C#, e.g. var {modelName} = new RepCnn(new RepCnnConfig {{ Classes = 16 }})");
        if (model.IsReparameterized)
            throw new MagicException($"'{modelName}' is already folded (one conv per block); pass the multi-branch model it came from.");
        var name = session.ResultName(c.Name, "--name", $"{modelName}_folded");
        var resultName = session.ResultName(c.Result, "--result", DefaultResultName);
        int repeats = OptionValues.Int(c.Repeats, "--repeats", DefaultRepeats, min: 1, max: Reparameterization.MaxRepeats);
        int block = c.Block is null
            ? Math.Max(0, model.blocks.ToList().FindIndex(b => b.HasIdentity))
            : OptionValues.Int(c.Block, "--block", 0, min: 0);
        if (block >= model.Config.Blocks)
            throw new MagicException($"--block {block} does not exist: the model has blocks 0..{model.Config.Blocks - 1}.");
        int channel = OptionValues.Int(c.Channel, "--channel", 0, min: 0);
        if (channel >= model.Config.Channels[block])
            throw new MagicException($"--channel {channel} does not exist: block {block} has output channels 0..{model.Config.Channels[block] - 1}.");

        using var features = Features(c.Features, session, model);
        using var check = features.to(model.parameters().First().device);
        RepCnn folded;
        ReparameterizationReport report;
        try { (folded, report) = await Task.Run(() => Reparameterization.FoldCopy(model, check, repeats, context.CancellationToken)); }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested) { return; }
        context.Display(report, HtmlFormatter.MimeType);
        using var copy = Reparameterization.Copy(model);
        context.Display(new HtmlString(KeywordHtml.Kernels(copy.blocks[block].FoldedBranches(), channel,
            $"Block {block}, output channel {channel}: the branches (batch norm folded in) and their sum")), HtmlFormatter.MimeType);
        await session.ShareAsync(name, folded, typeof(RepCnn));
        await session.ShareAsync(resultName, report, typeof(ReparameterizationReport));
    }

    static Tensor Features(string? variable, NotebookSession session, RepCnn model)
    {
        if (variable is null)
        {
            var generator = new Generator(0);
            return randn([8, model.Config.Mels, 98], generator: generator);
        }
        var name = variable.Trim();
        var value = session.Variable(name)
            ?? throw new MagicException($"No C# variable named '{name}' for --features: pass KeywordFeatures (e.g. from KeywordFeatures.Of(keywords.Test, logMel)) or a tensor.");
        var tensor = value switch
        {
            KeywordFeatures f => f.Features,
            Tensor t => t,
            _ => throw new MagicException($"--features {name} is a {value.GetType().Name}; pass KeywordFeatures or a features tensor (batch, mels, frames)."),
        };
        if (tensor.dim() != 3 || tensor.shape[1] != model.Config.Mels)
            throw new MagicException($"--features {name} has shape [{string.Join(", ", tensor.shape)}]; the model takes (batch, {model.Config.Mels}, frames).");
        return tensor[..(int)Math.Min(64, tensor.shape[0])].cpu();
    }
}
