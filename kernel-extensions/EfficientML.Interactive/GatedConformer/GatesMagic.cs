using EfficientML.GatedConformer;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!gates</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class GatesCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => GatesMagic.ToCSharp(this);

    /// <summary>Name of the conformer spotter.</summary>
    public OptionText? Model { get; set; }
    /// <summary>speech, noise or silence.</summary>
    public OptionText? Input { get; set; }
    /// <summary>Length of the recording.</summary>
    public OptionText? Seconds { get; set; }
    /// <summary>Audio per pushed chunk, in ms.</summary>
    public OptionText? Chunk { get; set; }
    /// <summary>Detector threshold.</summary>
    public OptionText? Threshold { get; set; }
    /// <summary>What the gates do: learned, keep or skip.</summary>
    public OptionText? Gating { get; set; }
    /// <summary>Probability above which a learned gate runs its module.</summary>
    public OptionText? GateThreshold { get; set; }
    /// <summary>Seed of the recording.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>Variable name of the run.</summary>
    public OptionText? Name { get; set; }
}

/// <summary>
/// <c>#!gates</c>: makes a new recording (unseen voices) and streams it through a conformer spotter in chunks, then draws
/// which modules ran, gate block by gate block, under the spectrogram, with the words said and the detections.
/// C#: <c>GateRun.OnNewRecording(model, "gated", StreamKind.Speech, seconds: 20)</c>.
/// </summary>
static class GatesMagic
{
    public const string Name = "#!gates";
    public const string DefaultName = "gateRun";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var directive = new KernelActionDirective(Name)
        {
            Description = "Streams a new recording through a conformer keyword spotter (made by #!gated) in chunks, as a microphone would deliver it: " +
                          "words by unseen espeak-ng voices in recorded noise (--input speech), noise only, or near-silence. Draws the gate raster — " +
                          "one row per module, lit where it ran — under the spectrogram with the words said and the detections, and the keyword " +
                          $"probability below. Keeps the GateRun as a C# variable (--name, default '{DefaultName}'). " +
                          "C#: GateRun.OnNewRecording(model, \"gated\", StreamKind.Speech, seconds: 20).",
        };
        directive.Parameters.Add(ModelOption.Create<ConformerSpotter>(session, "--model", "Name of the conformer spotter, e.g. 'gated' or 'conformer' from #!gated (required)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--input", "What the recording holds: speech (words in noise), noise or silence (default speech).")
            .AddCompletions(() => ["speech", "noise", "silence"]));
        directive.Parameters.Add(new KernelDirectiveParameter("--seconds", "Length of the recording in seconds, 3 to 600 (default 20)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--chunk", "Audio per pushed chunk in ms, 10 to 10000 (default 160); the output does not depend on it."));
        directive.Parameters.Add(new KernelDirectiveParameter("--threshold", "Keyword probability at which the detector fires, above 0, at most 1 (default 0.5)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--gating", "What the gates do: learned (they decide), keep (every module runs) or skip (none runs); default learned.")
            .AddCompletions(() => ["learned", "keep", "skip"]));
        directive.Parameters.Add(new KernelDirectiveParameter("--gate-threshold",
            "Probability above which a learned gate runs its module, between 0 and 1 (default: the model's own, 0.5 unless set); lower runs more modules. " +
            "For this recording only."));
        directive.Parameters.Add(new KernelDirectiveParameter("--seed", "Seed of the recording (default 1)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--name", $"Variable name for the GateRun in C# cells (default '{DefaultName}')."));
        magics.Add<GatesCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>The options of one <c>#!gates</c> line, checked.</summary>
    internal sealed record Request(string Model, StreamKind Kind, GateMode Gating, double Seconds, int ChunkFrames, double Threshold, int Seed, double? GateThreshold);

    internal static Request Read(GatesCommand c)
    {
        var model = OptionValues.Required(c.Model, "#!gates needs --model NAME, e.g. #!gates --model gated (make one with #!gated).").Trim();
        var kind = (c.Input?.ToString().Trim().ToLowerInvariant() ?? "speech") switch
        {
            "speech" => StreamKind.Speech,
            "noise" => StreamKind.Noise,
            "silence" => StreamKind.Silence,
            var other => throw new MagicException($"--input is speech, noise or silence (got '{OptionValues.Shown(other)}')."),
        };
        var gating = (c.Gating?.ToString().Trim().ToLowerInvariant() ?? "learned") switch
        {
            "learned" => GateMode.Learned,
            "keep" => GateMode.Keep,
            "skip" => GateMode.Skip,
            var other => throw new MagicException($"--gating is learned, keep or skip (got '{OptionValues.Shown(other)}')."),
        };
        double seconds = OptionValues.Double(c.Seconds, "--seconds", 20, min: 3, max: 600);
        int chunkMs = OptionValues.Int(c.Chunk, "--chunk", 160, min: 10, max: 10_000, why: "it is the audio per pushed chunk in ms");
        double threshold = OptionValues.Double(c.Threshold, "--threshold", 0.5, min: 1e-6, max: 1);
        int seed = OptionValues.Int(c.Seed, "--seed", 1, min: 0, max: 1_000_000);
        double? gateThreshold = c.GateThreshold is null ? null
            : OptionValues.Double(c.GateThreshold, "--gate-threshold", 0.5, min: 0.001, max: 0.999, why: "it is a probability strictly between 0 and 1");
        return new Request(model, kind, gating, seconds, Math.Max(1, chunkMs / 10), threshold, seed, gateThreshold);
    }

    /// <summary>
    /// C# equivalent: <c>GateRun.OnNewRecording(model, …)</c>, with the model's gating and gate threshold set for the call
    /// and put back after.
    /// </summary>
    internal static string ToCSharp(GatesCommand c)
    {
        var r = Read(c);
        var model = OptionValues.VariableName(r.Model, "--model", "gated");
        var name = OptionValues.VariableName(c.Name, "--name", DefaultName);
        string before = "", after = "";
        if (r.Gating != GateMode.Learned)
        {
            before += $"var {name}Gating = {model}.Gating;\n{model}.Gating = GateMode.{r.Gating};\n";
            after += $"{model}.Gating = {name}Gating;\n";
        }
        if (r.GateThreshold is { } gateThreshold)
        {
            before += $"var {name}GateThreshold = {model}.GateThreshold;\n{model}.GateThreshold = {CSharpSource.Literal(gateThreshold)};\n";
            after += $"{model}.GateThreshold = {name}GateThreshold;\n";
        }
        var call = $"var {name} = GateRun.OnNewRecording({model}, {CSharpSource.String(model)}, StreamKind.{r.Kind}, seconds: {CSharpSource.Literal(r.Seconds)}, " +
                   $"seed: {r.Seed}, detector: new DetectorOptions {{ Threshold = {CSharpSource.Literal(r.Threshold)} }}, chunkFrames: {r.ChunkFrames});\n";
        return before + call + after + $"display({name});";
    }

    static async Task RunAsync(GatesCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var r = Read(c);
        var model = ModelOption.Find<ConformerSpotter>(session, r.Model, "stream", "Make one with #!gated", "conformer spotter");
        var name = session.ResultName(c.Name, "--name", DefaultName);
        var (previous, previousThreshold) = (model.Gating, model.GateThreshold);
        GateRun run;
        try
        {
            model.Gating = r.Gating;
            model.GateThreshold = r.GateThreshold ?? previousThreshold;
            run = await Task.Run(() => GateRun.OnNewRecording(model, r.Model, r.Kind, r.Seconds, r.Seed,
                detector: new DetectorOptions { Threshold = r.Threshold }, chunkFrames: r.ChunkFrames), context.CancellationToken);
        }
        finally
        {
            (model.Gating, model.GateThreshold) = (previous, previousThreshold);
        }
        context.Display(run, HtmlFormatter.MimeType);
        await session.ShareAsync(name, run, typeof(GateRun));
    }
}
