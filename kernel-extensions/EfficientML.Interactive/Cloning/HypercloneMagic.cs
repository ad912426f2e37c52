using System.Globalization;
using EfficientML.Cloning;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!hyperclone</c>, bound by name (<c>--noise-db</c> → <see cref="NoiseDb"/>); numbers arrive as text and are checked here.</summary>
public sealed class HypercloneCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => HypercloneMagic.ToCSharp(this);

    /// <summary>Name of the model to grow.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Width factor n (an integer ≥ 2).</summary>
    public OptionText? Factor { get; set; }
    /// <summary>Signal-to-noise ratio in dB of the symmetry-breaking noise.</summary>
    public OptionText? NoiseDb { get; set; }
    /// <summary>Seed of the noise.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>Variable name of the grown model.</summary>
    public OptionText? Name { get; set; }
    /// <summary>Variable name of the report.</summary>
    public OptionText? Report { get; set; }
    /// <summary>Parameter whose heat maps are shown before and after.</summary>
    public OptionText? Weight { get; set; }
}

/// <summary>
/// <c>#!hyperclone</c>: grows a named model n× wider so it computes the same function, keeps the grown model and the
/// report as C# variables, and shows the report and one weight before and after.
/// C#: <c>HyperCloning.Expand(model, 2, new HyperCloneOptions { NoiseSnrDb = 10 })</c>.
/// </summary>
static class HypercloneMagic
{
    /// <summary>
    /// C# equivalent: <c>var (NAME, REPORT) = HyperCloning.Expand(model, factor, options);</c>, then the report and the
    /// weight-tiling chart.
    /// </summary>
    internal static string ToCSharp(HypercloneCommand c)
    {
        var model = OptionValues.VariableName(c.Model, "--model", ModelMagic.DefaultName);
        int factor = Factor(c.Factor);
        var name = OptionValues.VariableName(c.Name, "--name", $"{model}_x{factor}");
        var report = OptionValues.VariableName(c.Report, "--report", DefaultReportName);
        var options = new HyperCloneOptions
        {
            NoiseSnrDb = c.NoiseDb is null ? null : OptionValues.Double(c.NoiseDb, "--noise-db", 10, min: -100, max: 200),
            Seed = OptionValues.Long(c.Seed, "--seed", new HyperCloneOptions().Seed),
        };
        var weight = (c.Weight ?? DefaultWeight).Trim();
        return $"var ({name}, {report}) = HyperCloning.Expand({model}, {factor}, {CSharpSource.Initializer(options)});\n" +
               $"display({report});\n" +
               $"CloningCharts.WeightTiling({model}, {name}, {CSharpSource.String(weight)}).DisplayAs(\"text/html\");";
    }

    public const string Name = "#!hyperclone";
    public const string DefaultReportName = "cloneReport";
    public const string DefaultWeight = "blocks.0.mlp.fc.weight";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var d = new HyperCloneOptions();
        var directive = new KernelActionDirective(Name)
        {
            Description = "Grows a model n× wider (HyperCloning) so that it computes exactly the same function: every width is multiplied " +
                          "by --factor, each weight is tiled n × n, whole heads are copied. Keeps the grown model as a C# variable " +
                          "(--name, default '<model>_x<factor>') and the report (--report, default 'cloneReport'), and shows the report " +
                          "and one weight before and after. C#: HyperCloning.Expand(model, 2, new HyperCloneOptions { NoiseSnrDb = 10 }).",
            Parameters =
            {
                ModelMagic.Option(session, "--model", $"Name of the model to grow, made with #!model or a C# variable holding a TinyGpt (default '{ModelMagic.DefaultName}')."),
                new KernelDirectiveParameter("--factor", "Width factor n, an integer of 2 or more (required; no default): 2 doubles every width."),
                new KernelDirectiveParameter("--noise-db", "Symmetry breaking: signal-to-noise ratio in dB of zero-sum noise added to the copies, so they can " +
                                                           "learn different things while the function stays the same; about 10 is the paper's setting (default: no noise, exact copies)."),
                new KernelDirectiveParameter("--seed", $"Seed of the noise (default {d.Seed})."),
                new KernelDirectiveParameter("--name", "Variable name for the grown model in C# cells and in other magics' --model (default '<model>_x<factor>', e.g. model_x2)."),
                new KernelDirectiveParameter("--report", $"Variable name for the CloneReport in C# cells (default '{DefaultReportName}')."),
                new KernelDirectiveParameter("--weight", $"Parameter shown as heat maps before and after, as named by model.named_parameters() (default '{DefaultWeight}')."),
            },
        };
        magics.Add<HypercloneCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    static async Task RunAsync(HypercloneCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var modelName = (c.Model ?? ModelMagic.DefaultName).Trim();
        // Checked here rather than marked required, so a missing factor gets a message with an example.
        int factor = Factor(c.Factor);
        var name = session.ResultName(c.Name, "--name", $"{modelName}_x{Factor(c.Factor)}");
        var reportName = session.ResultName(c.Report, "--report", DefaultReportName);
        var model = ModelMagic.Find(session, modelName, "grow");
        var weight = (c.Weight ?? DefaultWeight).Trim();
        model.Parameter(weight);
        var options = new HyperCloneOptions
        {
            NoiseSnrDb = c.NoiseDb is null ? null : OptionValues.Double(c.NoiseDb, "--noise-db", 10, min: -100, max: 200),
            Seed = OptionValues.Long(c.Seed, "--seed", new HyperCloneOptions().Seed),
        };
        HyperCloneResult result;
        var cancellation = context.CancellationToken;
        // Not while a training step (of an interrupted #!train, #!race, #!cluster or #!route) may still be writing these weights.
        await session.TrainingGate.WaitAsync(cancellation);
        try
        {
            // Off the kernel's thread and checked between layers, so an interrupt ends it at once; awaited to the end,
            // so nothing keeps reading the model after the cell has ended.
            result = await Task.Run(() => HyperCloning.Expand(model, factor, options, cancellation));
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return;
        }
        finally
        {
            session.TrainingGate.Release();
        }
        session.Models.Set(name, result.Model);
        await session.ShareAsync(name, result.Model, typeof(TinyGpt));
        await session.ShareAsync(reportName, result.Report, typeof(CloneReport));
        context.Display(result.Report, HtmlFormatter.MimeType);
        context.DisplayAs(CloningCharts.WeightTiling(model, result.Model, weight), HtmlFormatter.MimeType);
    }

    /// <summary>Largest width factor the magic accepts (a model's weights grow with its square; memory is checked as well).</summary>
    const int MaxFactor = 64;

    /// <summary>The width factor: a whole number from 2 (HyperCloning tiles whole copies of every weight).</summary>
    static int Factor(string? text) =>
        OptionValues.Int(OptionValues.Required(text, "#!hyperclone needs --factor N, the width factor: a whole number of 2 or more, e.g. --factor 2."),
            "--factor", 2, min: 2, max: MaxFactor, why: "HyperCloning tiles whole copies of every weight, and each matrix grows with the factor squared");
}
