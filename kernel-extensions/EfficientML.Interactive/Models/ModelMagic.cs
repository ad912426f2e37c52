using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!model</c>, bound by name (<c>--kv-heads</c> → <see cref="KvHeads"/>); numbers arrive as text and are checked here.</summary>
public sealed class ModelCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => ModelMagic.ToCSharp(this);

    /// <summary>Variable name of the model (default <c>model</c>).</summary>
    public OptionText? Name { get; set; }
    /// <summary>Load the shipped pretrained model.</summary>
    public bool Pretrained { get; set; }
    /// <summary>Load a TinyGpt safetensors file.</summary>
    public OptionText? From { get; set; }
    /// <summary>Transformer blocks of a new model.</summary>
    public OptionText? Layers { get; set; }
    /// <summary>Width of a new model.</summary>
    public OptionText? Dim { get; set; }
    /// <summary>Query heads of a new model.</summary>
    public OptionText? Heads { get; set; }
    /// <summary>Key/value heads of a new model.</summary>
    public OptionText? KvHeads { get; set; }
    /// <summary>MLP width of a new model.</summary>
    public OptionText? Mlp { get; set; }
    /// <summary>Context length of a new model.</summary>
    public OptionText? Context { get; set; }
    /// <summary>Give a new model its own output matrix.</summary>
    public bool Untied { get; set; }
    /// <summary>Seed of a new model's weights.</summary>
    public OptionText? Seed { get; set; }
}

/// <summary>
/// <c>#!model</c>: creates a TinyGpt (or loads the pretrained one, or a file), keeps it under a name, shares it
/// with C# as a variable of that name and shows its summary. C#: <c>new TinyGpt(config, seed)</c>,
/// <c>PretrainedModels.LoadTinyMoby()</c>, <c>TinyGpt.Load(path)</c>.
/// </summary>
static class ModelMagic
{
    /// <summary>
    /// C# equivalent: <c>var NAME = PretrainedModels.LoadTinyMoby();</c>, <c>TinyGpt.Load(path)</c> or
    /// <c>new TinyGpt(config, seed)</c> with every size the line sets, then <c>display(NAME);</c>. Without options it creates a
    /// model of the default sizes (a script has no earlier model to show).
    /// </summary>
    internal static string ToCSharp(ModelCommand c)
    {
        var name = OptionValues.VariableName(c.Name, "--name", DefaultName);
        bool describesNew = c.Layers != null || c.Dim != null || c.Heads != null || c.KvHeads != null || c.Mlp != null ||
                            c.Context != null || c.Seed != null || c.Untied;
        if (c.Pretrained && c.From != null) throw new MagicException("Use either --pretrained or --from PATH, not both.");
        if ((c.Pretrained || c.From != null) && describesNew)
            throw new MagicException("--layers, --dim, --heads, --kv-heads, --mlp, --context, --untied and --seed describe a new model; a loaded model keeps its own.");
        var create = c.Pretrained ? "PretrainedModels.LoadTinyMoby()"
                   : c.From != null ? $"TinyGpt.Load({CSharpSource.String(c.From.Trim())})"
                   : $"new TinyGpt({CSharpSource.Initializer(Config(c))}, seed: {CSharpSource.Literal(OptionValues.Long(c.Seed, "--seed", DefaultSeed))})";
        return $"var {name} = {create};\ndisplay({name});";
    }

    public const string Name = "#!model";
    public const string DefaultName = "model";
    public const long DefaultSeed = 1337;

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var defaults = new TinyGptConfig();
        var directive = new KernelActionDirective(Name)
        {
            Description = "Creates a TinyGpt, or loads the pretrained one (--pretrained) or a file (--from PATH), keeps it as a C# variable " +
                          "(--name, default 'model') and shows its layers, shapes and parameter counts. " +
                          "Without options it shows the model already called --name, or creates a new one with the default sizes.",
            Parameters =
            {
                new KernelDirectiveParameter("--name", $"Variable name for the model in C# cells and in other magics' --model (default '{DefaultName}')."),
                new KernelDirectiveParameter("--pretrained", "Load the shipped pretrained byte-level model trained on Moby-Dick (datasets/models).") { Flag = true },
                new KernelDirectiveParameter("--from", "Load a TinyGpt saved as safetensors from this path (relative to the notebook's folder).") { TypeHint = "file" },
                new KernelDirectiveParameter("--layers", $"New model: number of transformer blocks (default {defaults.Layers})."),
                new KernelDirectiveParameter("--dim", $"New model: width of the residual stream (default {defaults.Dim}); a multiple of --heads."),
                new KernelDirectiveParameter("--heads", $"New model: attention (query) heads (default {defaults.Heads})."),
                new KernelDirectiveParameter("--kv-heads", "New model: key/value heads, fewer than --heads for grouped-query attention (default: as many as --heads)."),
                new KernelDirectiveParameter("--mlp", "New model: hidden width of the MLP (default: 4 × --dim)."),
                new KernelDirectiveParameter("--context", $"New model: longest sequence in tokens (default {defaults.ContextLength})."),
                new KernelDirectiveParameter("--untied", "New model: give the output head its own matrix instead of sharing the token embedding.") { Flag = true },
                new KernelDirectiveParameter("--seed", $"New model: seed of the initial weights (default {DefaultSeed}); the same seed gives the same model."),
            },
        };
        magics.Add<ModelCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    static async Task RunAsync(ModelCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var name = OptionValues.VariableName(c.Name, "--name", DefaultName);
        bool describesNew = c.Layers != null || c.Dim != null || c.Heads != null || c.KvHeads != null || c.Mlp != null ||
                            c.Context != null || c.Seed != null || c.Untied;
        if (c.Pretrained && c.From != null)
            throw new MagicException("Use either --pretrained or --from PATH, not both.");
        if ((c.Pretrained || c.From != null) && describesNew)
            throw new MagicException("--layers, --dim, --heads, --kv-heads, --mlp, --context, --untied and --seed describe a new model; a loaded model keeps its own. " +
                                     $"Drop them, or drop {(c.Pretrained ? "--pretrained" : "--from")} to create a new model.");
        TinyGpt model;
        if (!describesNew && !c.Pretrained && c.From == null && session.TryFindModel<TinyGpt>(name, out var existing)) model = existing;
        else
        {
            session.EnsureFree(name, "--name");
            // Read and checked on the kernel's thread (cheap); built or loaded off it, so the kernel stays responsive.
            var config = c.Pretrained || c.From != null ? null : Config(c);
            long seed = OptionValues.Long(c.Seed, "--seed", DefaultSeed);
            var from = c.From is null ? null : c.From.Trim();
            model = await Task.Run(() => c.Pretrained ? PretrainedModels.LoadTinyMoby() : from != null ? Load(from) : new TinyGpt(config!, seed));
        }
        session.Models.Set(name, model);
        await session.ShareAsync(name, model, typeof(TinyGpt));
        context.Display(model, HtmlFormatter.MimeType);
    }

    static TinyGpt Load(string from)
    {
        if (string.IsNullOrWhiteSpace(from))
            throw new MagicException("--from needs the path of a TinyGpt .safetensors file, e.g. --from artifacts/tiny.safetensors, or use --pretrained for the shipped model.");
        var path = Path.GetFullPath(from.Trim());
        if (!File.Exists(path))
            throw new MagicException($"--from: no file at '{path}' (relative paths start in {Environment.CurrentDirectory}). " +
                                     "Give the path of a TinyGpt .safetensors file, or use --pretrained for the shipped model.");
        return TinyGpt.Load(path);
    }

    static TinyGptConfig Config(ModelCommand c)
    {
        var d = new TinyGptConfig();
        int dim = OptionValues.Int(c.Dim, "--dim", d.Dim);
        int heads = OptionValues.Int(c.Heads, "--heads", d.Heads);
        return new TinyGptConfig
        {
            Layers = OptionValues.Int(c.Layers, "--layers", d.Layers),
            Dim = dim,
            Heads = heads,
            KvHeads = OptionValues.Int(c.KvHeads, "--kv-heads", heads),
            MlpDim = OptionValues.Int(c.Mlp, "--mlp", 4 * dim),
            ContextLength = OptionValues.Int(c.Context, "--context", d.ContextLength),
            TiedHead = !c.Untied,
        }.Validate();
    }

    /// <summary>An option naming a TinyGpt (<c>--model</c>, <c>--challenger</c> …), with the notebook's TinyGpts as completions.</summary>
    public static KernelDirectiveParameter Option(NotebookSession session, string option, string description) =>
        ModelOption.Create<TinyGpt>(session, option, description);

    /// <summary>The TinyGpt called <paramref name="name"/>, or a message on how to make it and which exist (to <paramref name="verb"/>).</summary>
    public static TinyGpt Find(NotebookSession session, string name, string verb) =>
        ModelOption.Find<TinyGpt>(session, name, verb, $"Create it first with {Name} --name {name} (or {Name} --name {name} --pretrained)", kind: "model");
}
