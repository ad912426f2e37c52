using EfficientML.Audio;
using EfficientML.Slick;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!kws-match</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class KwsMatchCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => KwsMatchMagic.ToCSharp(this);

    /// <summary>Name of the trained SLiCK model.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Keywords to enrol, comma-separated.</summary>
    public OptionText? Keywords { get; set; }
    /// <summary>The phrase said in the clip.</summary>
    public OptionText? Text { get; set; }
    /// <summary>The voice that says it: accent+variant, or real.</summary>
    public OptionText? Voice { get; set; }
    /// <summary>Seconds of a long recording to scan instead of a clip.</summary>
    public OptionText? Stream { get; set; }
    /// <summary>Score at which a scan detects a keyword (default: the model's decision threshold).</summary>
    public OptionText? Threshold { get; set; }
    /// <summary>Seed of the voice's variation or of the recording.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>Variable name of the result.</summary>
    public OptionText? Name { get; set; }
}

/// <summary>
/// <c>#!kws-match</c>: enrols keywords by their text against a trained SLiCK model and matches a clip (a phrase spoken by an
/// espeak-ng voice, or a real-voice prompt by its text) or scans a long recording for them.
/// C#: <c>new SlickSpotter(model).Match(samples, keywords)</c> / <c>.Scan(recording.Samples, keywords, options, recording.Events)</c>.
/// </summary>
static class KwsMatchMagic
{
    public const string Name = "#!kws-match";
    public const string DefaultModel = "slick", DefaultMatchName = "kwsMatch", DefaultScanName = "kwsScan", RealVoice = "real";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var directive = new KernelActionDirective(Name)
        {
            Description = "User-defined keyword spotting with SLiCK: enrols the keywords you type (their phonemes, padded to the model's L) against a " +
                          "trained SLiCK model and matches a clip — a phrase (--text) said by an espeak-ng voice (--voice accent+variant) or by the real " +
                          "voice (--voice real, a prompt chosen by its text) — showing each keyword's score, its phonemes against those heard, and the " +
                          "alignment heat map of the keyword's phonemes over the audio with the probability of each prefix. With --stream SECONDS it scans " +
                          "a long recording of test phrases in which the first keyword is said at known times, and draws the score over time with the " +
                          $"detections. Keeps the matches or the scan as a C# variable (--name, default '{DefaultMatchName}' or '{DefaultScanName}'). " +
                          "C#: new SlickSpotter(model).Match(samples, keywords), or .Scan(recording.Samples, keywords, options, recording.Events).",
        };
        directive.Parameters.Add(ModelOption.Create<SlickModel>(session, "--model", $"Name of the trained SLiCK model (default '{DefaultModel}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--keywords",
            "Keywords to enrol, comma-separated, e.g. \"brave, bravo\": letters, digits, apostrophes, hyphens and spaces, at most L phonemes each (required)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--text", "The phrase said in the clip, e.g. \"a brave whale\" (this or --stream)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--voice",
            $"Who says --text: an espeak-ng voice as accent+variant, e.g. en-us+f2 or en-gb-scotland+m3 (default en-us), or '{RealVoice}' for the real-voice " +
            "prompt with that text (Allison's Asterisk prompts, e.g. \"thank you\").")
            .AddCompletions(() => [RealVoice, "en-us", "en-us+f2", "en-us+m3", "en+f3", "en-gb-scotland+m1"]));
        directive.Parameters.Add(new KernelDirectiveParameter("--stream",
            "Scan a long recording of this many seconds, 5 to 600, in which the first keyword is said among test phrases (this or --text)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--threshold", "Score at which a scan detects a keyword, above 0 and below 1 (default: the model's DecisionThreshold, the equal-error point of its validation pairs)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--seed", "Seed of the voice's variation or of the recording (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--name",
            $"Variable name for the result in C# cells: the list of SlickMatch (default '{DefaultMatchName}') or the SlickScan (default '{DefaultScanName}')."));
        magics.Add<KwsMatchCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>The options of one <c>#!kws-match</c> line, checked.</summary>
    internal sealed record Request(string Model, IReadOnlyList<string> Keywords, string? Text, SynthesisVoice? Voice, bool Real, double? StreamSeconds,
        double? Threshold, int Seed, string Result);

    internal static Request Read(KwsMatchCommand c)
    {
        var model = c.Model?.ToString().Trim() is { Length: > 0 } m ? m : DefaultModel;
        var keywordText = OptionValues.Required(c.Keywords, "#!kws-match needs --keywords, e.g. #!kws-match --keywords \"brave, bravo\" --text \"a brave whale\".");
        var keywords = keywordText.Split(',').Select(Phonemizer.Normalise).ToList();
        if (keywords.Distinct().Count() != keywords.Count) throw new MagicException($"--keywords names a keyword twice ({keywordText}); give each once.");
        bool hasText = c.Text is not null, hasStream = c.Stream is not null;
        if (hasText == hasStream)
            throw new MagicException("#!kws-match needs either --text \"PHRASE\" (match one clip) or --stream SECONDS (scan a long recording), not " + (hasText ? "both." : "neither."));
        if (hasStream && c.Voice is not null) throw new MagicException("--voice goes with --text; a --stream recording is said by the test voices.");
        if (hasText && c.Threshold is not null) throw new MagicException("--threshold goes with --stream; a clip shows every keyword's score.");
        int seed = OptionValues.Int(c.Seed, "--seed", 0, min: 0, max: 1_000_000);
        double? threshold = c.Threshold is null ? null : OptionValues.Double(c.Threshold, "--threshold", 0.5, min: 1e-6, max: 0.999999);
        if (hasStream)
        {
            double seconds = OptionValues.Double(c.Stream, "--stream", 30, min: 5, max: 600, why: "it is the recording's length in seconds");
            return new Request(model, keywords, null, null, false, seconds, threshold, seed, OptionValues.VariableName(c.Name, "--name", DefaultScanName));
        }
        var text = Phonemizer.Normalise(c.Text);
        var voice = c.Voice?.ToString().Trim() ?? "en-us";
        bool real = voice.Equals(RealVoice, StringComparison.OrdinalIgnoreCase);
        return new Request(model, keywords, text, real ? null : Voice(voice), real, null, threshold, seed, OptionValues.VariableName(c.Name, "--name", DefaultMatchName));
    }

    /// <summary>"en-us+f2" as an espeak-ng voice of the speaker catalogue, or one message listing what there is.</summary>
    internal static SynthesisVoice Voice(string text)
    {
        var parts = text.Split('+', StringSplitOptions.TrimEntries);
        if (parts.Length > 2 || !SpeakerCatalog.Accents.Contains(parts[0]))
            throw new MagicException($"--voice '{OptionValues.Shown(text)}' is not an espeak-ng voice: write accent+variant with an accent of " +
                                     $"{string.Join(", ", SpeakerCatalog.Accents)} and a variant such as f2 or m3 (e.g. en-us+f2), or '{RealVoice}'.");
        if (parts.Length == 2 && !SpeakerCatalog.Variants.Contains(parts[1]))
            throw new MagicException($"--voice '{OptionValues.Shown(text)}': '{OptionValues.Shown(parts[1])}' is not a variant; try one of " +
                                     $"{string.Join(", ", SpeakerCatalog.Variants.Take(16))} ….");
        return new SynthesisVoice { Voice = parts[0], Variant = parts.Length == 2 ? parts[1] : null };
    }

    /// <summary>The real-voice clip whose text is <paramref name="text"/>, or one message naming some that exist.</summary>
    internal static SlickRealVoiceClip RealClip(SlickRealVoice set, string text) =>
        set.Clips.FirstOrDefault(c => c.Text == text) ?? throw new MagicException(
            $"The real voice never says \"{text}\"; --voice {RealVoice} takes the text of one of its {set.Clips.Count} prompts, e.g. " +
            $"{string.Join(", ", set.Clips.Take(6).Select(c => $"\"{c.Text}\""))}.");

    /// <summary>C# equivalent: a spotter over the model, the keywords enrolled, then <c>Match</c> on the clip or <c>Scan</c> of a new recording.</summary>
    internal static string ToCSharp(KwsMatchCommand c)
    {
        var r = Read(c);
        var model = OptionValues.VariableName(r.Model, "--model", DefaultModel);
        var n = r.Result;
        var code = $"var {n}Spotter = new SlickSpotter({model});\n" +
                   $"var {n}Keywords = new[] {{ {string.Join(", ", r.Keywords.Select(CSharpSource.String))} }}.Select({n}Spotter.Enrol).ToList();\n";
        if (r.StreamSeconds is { } seconds)
            return code +
                   $"var {n}Recording = SlickStream.Build(new SlickDatasetOptions(), SlickPhrases.Build(), {CSharpSource.String(r.Keywords[0])}, seconds: {CSharpSource.Literal(seconds)}, seed: {r.Seed});\n" +
                   (r.Threshold is { } t ? $"var {n}Options = new SlickScanOptions {{ Threshold = {CSharpSource.Literal(t)} }};\n" : $"var {n}Options = new SlickScanOptions();\n") +
                   $"var {n} = {n}Spotter.Scan({n}Recording.Samples, {n}Keywords, {n}Options, {n}Recording.Events);\n" +
                   $"SlickMatchHtml.Stream({n}Recording, {n}, {n}Options).DisplayAs(\"text/html\");";
        var audio = r.Real
            ? $"var {n}Audio = SlickRealVoice.Load().Clips.First(c => c.Text == {CSharpSource.String(r.Text!)}).Clip.Samples;\n"
            : $"var {n}Audio = SpeechSynthesizer.Open().Synthesize({CSharpSource.String(r.Text!)}, new SynthesisVoice {{ Voice = {CSharpSource.String(r.Voice!.Voice)}" +
              (r.Voice.Variant is { } v ? $", Variant = {CSharpSource.String(v)}" : "") + $" }}, seed: {r.Seed}).Samples;\n";
        return code + audio +
               $"var {n} = {n}Spotter.Match({n}Audio, {n}Keywords);\n" +
               $"SlickMatchHtml.Clip({n}Audio, {n}, {CSharpSource.String(Caption(r))}).DisplayAs(\"text/html\");";
    }

    static string Caption(Request r) => $"\"{r.Text}\" said by {(r.Real ? SlickRealVoice.Speaker : r.Voice!.FullName)}";

    static async Task RunAsync(KwsMatchCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var r = Read(c);
        var model = ModelOption.Find<SlickModel>(session, r.Model, "match keywords with", "Train one first (SlickExperiment.Train in a C# cell)", "SLiCK model");
        var name = session.ResultName(r.Result, "--name", r.Result);
        using var spotter = new SlickSpotter(model);
        var keywords = r.Keywords.Select(spotter.Enrol).ToList();
        if (r.StreamSeconds is { } seconds)
        {
            var display = new ThrottledDisplay(context, LiveView.UpdateInterval);
            display.Show(new HtmlString($"<div>Building {Format.Fixed(seconds, 0)} s of test phrases with \"{Html.Encode(r.Keywords[0])}\" said now and then, and scanning it …</div>"), force: true);
            var options = new SlickScanOptions { Threshold = r.Threshold };
            var (recording, scan) = await Task.Run(() =>
            {
                var stream = SlickStream.Build(new SlickDatasetOptions(), SlickPhrases.Build(), r.Keywords[0], seconds, seed: r.Seed);
                return (stream, spotter.Scan(stream.Samples, keywords, options, stream.Events, cancellation: context.CancellationToken));
            }, context.CancellationToken);
            display.Show(new HtmlString(SlickMatchHtml.Stream(recording, scan, options)), force: true);
            await session.ShareAsync(name, scan, typeof(SlickScan));
            return;
        }
        var samples = r.Real
            ? RealClip(SlickRealVoice.Load(), r.Text!).Clip.Samples
            : SpeechSynthesizer.Open().Synthesize(r.Text!, r.Voice, r.Seed).Samples;
        var matches = spotter.Match(samples, keywords);
        context.Display(new HtmlString(SlickMatchHtml.Clip(samples, matches, Caption(r))), HtmlFormatter.MimeType);
        await session.ShareAsync(name, matches, typeof(IReadOnlyList<SlickMatch>));
    }
}
