using EfficientML.ActiveSpeaker;
using EfficientML.Vision;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!asd</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class AsdCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => AsdMagic.ToCSharp(this);

    /// <summary>Name of the detector.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Length of the scene.</summary>
    public OptionText? Seconds { get; set; }
    /// <summary>Faces on screen.</summary>
    public OptionText? Faces { get; set; }
    /// <summary>Seed of the scene.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>Variable name of the run.</summary>
    public OptionText? Name { get; set; }
}

/// <summary>
/// <c>#!asd</c>: renders a new scene with voices no model trained on and streams it through a detector frame by frame; shows
/// frames of every face with its speaking probability as a coloured bar, and each face's probability against the truth.
/// C#: <c>SpeakerRun.OnNewScene(model, "detector", new SceneOptions { Seconds = 8, Faces = 3, Seed = 1 })</c>.
/// </summary>
static class AsdMagic
{
    public const string Name = "#!asd";
    public const string DefaultName = "asdRun";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var directive = new KernelActionDirective(Name)
        {
            Description = "Renders a new scene (faces at 25 frames/s, one speaking in sync with espeak-ng speech by a voice no model trained on, distractors, " +
                          "silences and an off-screen voice) and streams it through an active speaker detector frame by frame, as a camera and microphone " +
                          "would deliver it. Shows frames of every face with its speaking probability as a coloured bar, and each face's probability over " +
                          $"time against the truth. Keeps the SpeakerRun as a C# variable (--name, default '{DefaultName}'). " +
                          "C#: SpeakerRun.OnNewScene(model, \"detector\", new SceneOptions { Seconds = 8, Faces = 3, Seed = 1 }).",
        };
        directive.Parameters.Add(ModelOption.Create<ActiveSpeakerModel>(session, "--model",
            "Name of an ActiveSpeakerModel variable, e.g. var detector = asdGrid.At(32, 4).Model; after #!asd-grid (required)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--seconds", "Length of the scene in seconds, 2 to 120 (default 8)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--faces", "Faces on screen, 1 to 8 (default 3); one of them speaks."));
        directive.Parameters.Add(new KernelDirectiveParameter("--seed", "Seed of the scene (default 1)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--name", $"Variable name for the SpeakerRun in C# cells (default '{DefaultName}')."));
        magics.Add<AsdCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>The options of one <c>#!asd</c> line, checked.</summary>
    internal sealed record Request(string Model, SceneOptions Scene);

    internal static Request Read(AsdCommand c)
    {
        var model = OptionValues.Required(c.Model, "#!asd needs --model NAME, e.g. var detector = asdGrid.At(32, 4).Model; then #!asd --model detector.").Trim();
        var scene = new SceneOptions
        {
            Seconds = OptionValues.Double(c.Seconds, "--seconds", 8, min: 2, max: 120),
            Faces = OptionValues.Int(c.Faces, "--faces", 3, min: 1, max: 8, why: "a scene with no faces has no one to watch"),
            Seed = OptionValues.Int(c.Seed, "--seed", 1, min: 0, max: 1_000_000),
        };
        return new Request(model, scene.Validate());
    }

    /// <summary>C# equivalent: <c>SpeakerRun.OnNewScene(model, …)</c>.</summary>
    internal static string ToCSharp(AsdCommand c)
    {
        var r = Read(c);
        var model = OptionValues.VariableName(r.Model, "--model", "detector");
        var name = OptionValues.VariableName(c.Name, "--name", DefaultName);
        return $"var {name} = SpeakerRun.OnNewScene({model}, {CSharpSource.String(model)}, new SceneOptions {{ Seconds = {CSharpSource.Literal(r.Scene.Seconds)}, " +
               $"Faces = {r.Scene.Faces}, Seed = {r.Scene.Seed} }});\ndisplay({name});";
    }

    static async Task RunAsync(AsdCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var r = Read(c);
        var model = ModelOption.Find<ActiveSpeakerModel>(session, r.Model, "stream a scene through",
            "Train detectors with #!asd-grid, then pick one: var detector = asdGrid.At(32, 4).Model;", "active speaker detector");
        var name = session.ResultName(c.Name, "--name", DefaultName);
        var run = await Task.Run(() => SpeakerRun.OnNewScene(model, r.Model, r.Scene), context.CancellationToken);
        context.Display(run, HtmlFormatter.MimeType);
        await session.ShareAsync(name, run, typeof(SpeakerRun));
    }
}
