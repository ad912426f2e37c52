using System.Globalization;
using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!subclone</c>, bound by name (<c>--no-rescale</c> → <see cref="NoRescale"/>); numbers arrive as text and are checked here.</summary>
public sealed class SubcloneCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => SubcloneMagic.ToCSharp(this);

    /// <summary>Name of the model to shrink.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Residual width d′ of the subclone.</summary>
    public OptionText? Width { get; set; }
    /// <summary>Number of blocks to keep (from both ends).</summary>
    public OptionText? Layers { get; set; }
    /// <summary>Exactly which blocks to keep, comma-separated.</summary>
    public OptionText? Keep { get; set; }
    /// <summary>MLP width of the subclone.</summary>
    public OptionText? Mlp { get; set; }
    /// <summary>Turn input rescaling off.</summary>
    public bool NoRescale { get; set; }
    /// <summary>Variable name of the subclone.</summary>
    public OptionText? Name { get; set; }
    /// <summary>Variable name of the report.</summary>
    public OptionText? Report { get; set; }
    /// <summary>Calibration batch as BATCHxLENGTH.</summary>
    public OptionText? CalibrationTokens { get; set; }
    /// <summary>Seed of the token sampler and of the random-init comparison.</summary>
    public OptionText? Seed { get; set; }
}

/// <summary>
/// <c>#!subclone</c>: initialises a smaller model from a named one (weight subcloning), keeps it and the report as C#
/// variables and shows the report. C#: <c>Subcloning.Shrink(model, new SubcloneOptions { Dim = 64, Layers = 4 }, calibration, evaluation)</c>.
/// </summary>
static class SubcloneMagic
{
    /// <summary>
    /// C# equivalent: calibration and evaluation windows sampled as the magic samples them (seeded), then
    /// <c>Subcloning.Shrink(model, options, calibration, evaluation, seed)</c> and its report.
    /// </summary>
    internal static string ToCSharp(SubcloneCommand c)
    {
        if (c.Layers != null && c.Keep != null)
            throw new MagicException("Use either --layers L (keep the first and last blocks) or --keep 0,1,7 (exactly these blocks), not both.");
        var model = OptionValues.VariableName(c.Model, "--model", ModelMagic.DefaultName);
        var name = OptionValues.VariableName(c.Name, "--name", model + "_sub");
        var report = OptionValues.VariableName(c.Report, "--report", DefaultReportName);
        var options = new SubcloneOptions
        {
            Dim = OptionValues.OptionalInt(c.Width, "--width", example: 64),
            Layers = OptionValues.OptionalInt(c.Layers, "--layers", example: 4),
            MlpDim = OptionValues.OptionalInt(c.Mlp, "--mlp", example: 256),
            RescaleInputs = !c.NoRescale,
            // Checked against the model's blocks when the script runs (Subcloning.Shrink says which exist).
            KeepLayers = Keep(c.Keep, int.MaxValue),
        };
        long seed = OptionValues.Long(c.Seed, "--seed", DefaultSeed);
        // Given: as written (the model's context checks the length when the script runs); else the magic's default.
        var (batch, length) = c.CalibrationTokens is null
            ? (DefaultCalibrationBatch.ToString(System.Globalization.CultureInfo.InvariantCulture), $"Math.Min({DefaultCalibrationLength}, {model}.Config.ContextLength)")
            : CalibrationShape(c.CalibrationTokens, int.MaxValue) is var (b, l) ? (b.ToString(System.Globalization.CultureInfo.InvariantCulture), l.ToString(System.Globalization.CultureInfo.InvariantCulture)) : default;
        return $"SubcloneResult {name}Result;\n" +
               $"using (var {name}Windows = Seeding.Generator({CSharpSource.Literal(seed)}))\n" +
               $"using (var {name}Calibration = MobyDickCorpus.Get().SampleBatch(Split.Train, {batch}, {length}, {name}Windows).Inputs)\n" +
               $"using (var {name}Evaluation = MobyDickCorpus.Get().SampleBatch(Split.Validation, {batch}, {length}, {name}Windows).Inputs)\n" +
               $"    {name}Result = Subcloning.Shrink({model}, {CSharpSource.Initializer(options)}, {name}Calibration, {name}Evaluation, {CSharpSource.Literal(seed)});\n" +
               $"var {name} = {name}Result.Model;\nvar {report} = {name}Result.Report;\ndisplay({report});";
    }

    public const string Name = "#!subclone";
    public const string DefaultReportName = "subcloneReport";
    public const int DefaultCalibrationBatch = 16;
    /// <summary>Most calibration windows the magic accepts (the activations of every window are kept; memory is checked as well).</summary>
    public const int MaxCalibrationWindows = 4096;
    public const int DefaultCalibrationLength = 128;
    public const long DefaultSeed = 1;

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var directive = new KernelActionDirective(Name)
        {
            Description = "Initialises a smaller model from a trained one (weight subcloning): ranks the residual dimensions by their activations " +
                          "on Moby-Dick text and keeps the same most important ones in every layer, keeps each block's most important heads and " +
                          "MLP neurons, and drops blocks from the middle. Keeps the subclone as a C# variable (--name, default '<model>_sub') and the " +
                          "report (--report, default 'subcloneReport'), and shows the report. " +
                          "C#: Subcloning.Shrink(model, new SubcloneOptions { Dim = 64, Layers = 4 }, calibration, evaluation).",
            Parameters =
            {
                ModelMagic.Option(session, "--model", $"Name of the model to shrink, made with #!model or a C# variable holding a TinyGpt (default '{ModelMagic.DefaultName}')."),
                new KernelDirectiveParameter("--width", "Residual width d′ of the subclone, a multiple of the head width (default: the model's width, unchanged)."),
                new KernelDirectiveParameter("--layers", "Number of blocks to keep: the first ⌈L′/2⌉ and the last ⌊L′/2⌋, dropping the middle (default: all)."),
                new KernelDirectiveParameter("--keep", "Exactly which blocks to keep, 0-based and comma-separated, e.g. 0,1,7 (instead of --layers; default: all)."),
                new KernelDirectiveParameter("--mlp", "MLP width of the subclone (default: the model's MLP width scaled like the residual width, m · d′/d)."),
                new KernelDirectiveParameter("--no-rescale", "Do not rescale weights whose input shrank (default: rescale by √(d_in / d_in′) so activations keep their norms).") { Flag = true },
                new KernelDirectiveParameter("--name", "Variable name for the subclone in C# cells and in other magics' --model (default '<model>_sub', e.g. model_sub)."),
                new KernelDirectiveParameter("--report", $"Variable name for the SubcloneReport in C# cells (default '{DefaultReportName}')."),
                new KernelDirectiveParameter("--calibration-tokens", $"Token windows that rank the dimensions, as BATCHxLENGTH from the Moby-Dick training split " +
                                                                     $"(default {DefaultCalibrationBatch}x{DefaultCalibrationLength}, or the context if shorter); the losses use as many from the validation split."),
                new KernelDirectiveParameter("--seed", $"Seed of the sampled windows and of the random-init model the report compares with (default {DefaultSeed})."),
            },
        };
        magics.Add<SubcloneCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    static async Task RunAsync(SubcloneCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var modelName = (c.Model ?? ModelMagic.DefaultName).Trim();
        var name = session.ResultName(c.Name, "--name", modelName + "_sub");
        var reportName = session.ResultName(c.Report, "--report", DefaultReportName);
        var model = ModelMagic.Find(session, modelName, "shrink");
        var source = model.Config;
        if (c.Layers != null && c.Keep != null)
            throw new MagicException("Use either --layers L (keep the first and last blocks) or --keep 0,1,7 (exactly these blocks), not both.");
        var options = new SubcloneOptions
        {
            Dim = OptionValues.OptionalInt(c.Width, "--width", example: Math.Max(source.HeadDim, source.Dim / 2)),
            Layers = OptionValues.OptionalInt(c.Layers, "--layers", example: Math.Max(1, source.Layers / 2)),
            KeepLayers = Keep(c.Keep, source.Layers),
            MlpDim = OptionValues.OptionalInt(c.Mlp, "--mlp", example: Math.Max(1, source.MlpDim / 2)),
            RescaleInputs = !c.NoRescale,
        };
        // The library's own check (whole heads, key/value groups, layer counts), before any tokens are sampled.
        Subcloning.TargetConfig(source, options);
        var (batch, length) = CalibrationShape(c.CalibrationTokens, source.ContextLength);
        long seed = OptionValues.Long(c.Seed, "--seed", DefaultSeed);

        var corpus = MobyDickCorpus.Get();
        SubcloneResult result;
        var cancellation = context.CancellationToken;
        await session.TrainingGate.WaitAsync(cancellation);
        try
        {
            // Off the kernel's thread and checked between stages, awaited to the end (as #!hyperclone).
            result = await Task.Run(() =>
            {
                var (calibration, evaluation) = Tokens(corpus, batch, length, seed);
                using (calibration)
                using (evaluation)
                    return Subcloning.Shrink(model, options, calibration, evaluation, seed, cancellation);
            });
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
        await session.ShareAsync(reportName, result.Report, typeof(SubcloneReport));
        context.Display(result.Report, HtmlFormatter.MimeType);
    }

    /// <summary>Seeded windows: calibration from the training split, evaluation from the validation split.</summary>
    static (Tensor Calibration, Tensor Evaluation) Tokens(TextCorpus corpus, int batch, int length, long seed)
    {
        using var scope = NewDisposeScope();
        using var generator = Seeding.Generator(seed);
        var calibration = corpus.SampleBatch(Split.Train, batch, length, generator).Inputs;
        var evaluation = corpus.SampleBatch(Split.Validation, batch, length, generator).Inputs;
        return (calibration.MoveToOuterDisposeScope(), evaluation.MoveToOuterDisposeScope());
    }

    static IReadOnlyList<int>? Keep(string? text, int layers) =>
        OptionValues.WholeNumbers(text, "--keep", $"0,1,{layers - 1}", min: 0, max: layers - 1, why: $"the model has blocks 0 to {layers - 1}");

    static (int Batch, int Length) CalibrationShape(string? text, int contextLength)
    {
        int defaultLength = Math.Min(DefaultCalibrationLength, contextLength);
        if (text is null) return (DefaultCalibrationBatch, defaultLength);
        return OptionValues.Pair(text, "--calibration-tokens", $"{DefaultCalibrationBatch}x{defaultLength}",
            first: ("batch", 1, MaxCalibrationWindows, null), second: ("length", 2, contextLength, $"windows fit in the model's context of {contextLength} tokens"));
    }
}
