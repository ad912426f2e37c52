using System.Globalization;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>Options of <c>#!keywords</c>, bound by name; values arrive as text and are checked here.</summary>
public sealed class KeywordsCommand : KernelDirectiveCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => KeywordsMagic.ToCSharp(this);

    /// <summary>Keywords, comma-separated.</summary>
    public OptionText? Keywords { get; set; }
    /// <summary>Words for the unknown class, comma-separated.</summary>
    public OptionText? UnknownWords { get; set; }
    /// <summary>No unknown class.</summary>
    public bool NoUnknown { get; set; }
    /// <summary>No silence class.</summary>
    public bool NoSilence { get; set; }
    /// <summary>Training speakers.</summary>
    public OptionText? Speakers { get; set; }
    /// <summary>SNR range in dB.</summary>
    public OptionText? Snr { get; set; }
    /// <summary>Share of clips band-limited to 4 kHz.</summary>
    public OptionText? Telephone { get; set; }
    /// <summary>Share of training speakers made by Festival.</summary>
    public OptionText? Festival { get; set; }
    /// <summary>Largest vocal-tract warp (share).</summary>
    public OptionText? Warp { get; set; }
    /// <summary>Largest tempo change (share).</summary>
    public OptionText? Tempo { get; set; }
    /// <summary>Share of words played in a synthetic room.</summary>
    public OptionText? Rooms { get; set; }
    /// <summary>Every voice augmentation at the full recipe's settings.</summary>
    public bool Voices { get; set; }
    /// <summary>Seed.</summary>
    public OptionText? Seed { get; set; }
    /// <summary>The smaller quick set.</summary>
    public bool Quick { get; set; }
    /// <summary>Synthesise again even when cached.</summary>
    public bool NoCache { get; set; }
    /// <summary>Variable name of the dataset.</summary>
    public OptionText? Name { get; set; }
}

/// <summary>
/// <c>#!keywords</c>: builds (or reads from the disk cache) a keyword-spotting dataset synthesised by espeak-ng with
/// recorded noise, shows its summary and one clip per class to listen to, and keeps it as a C# variable.
/// C#: <c>KeywordDatasetBuilder.Build(new KeywordDatasetOptions { Keywords = ["yes", "no"] })</c>.
/// </summary>
static class KeywordsMagic
{
    /// <summary>C# equivalent: <c>var NAME = KeywordDatasetBuilder.Build(options);</c> and the dataset's view.</summary>
    internal static string ToCSharp(KeywordsCommand c)
    {
        var name = OptionValues.VariableName(c.Name, "--name", DefaultName);
        var options = Options(c);
        return $"var {name} = KeywordDatasetBuilder.Build({CSharpSource.Initializer(options)}{(c.NoCache ? ", useCache: false" : "")});\ndisplay({name});";
    }

    public const string Name = "#!keywords";
    public const string DefaultName = "keywords";

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var d = new KeywordDatasetOptions();
        var directive = new KernelActionDirective(Name)
        {
            Description = "Builds a keyword-spotting dataset offline: every clip is a word said by a synthetic espeak-ng speaker (accent × variant, " +
                          "with its own pitch and rate) or, with --festival, by one of Festival's voices, shifted in time, optionally moved by a vocal-tract warp, " +
                          "a tempo change and a room (--warp, --tempo, --rooms; --voices for all), mixed with recorded noise at a random SNR and sometimes band-limited to 4 kHz; " +
                          "train, validation and test never share a voice. Deterministic for --seed, and cached on disk (artifacts/cache/keywords). " +
                          "Shows the classes, voices and SNRs, and one clip per class to listen to; keeps the KeywordDataset as a C# variable " +
                          $"(--name, default '{DefaultName}'). C#: KeywordDatasetBuilder.Build(new KeywordDatasetOptions {{ ... }}).",
        };
        directive.Parameters.Add(new KernelDirectiveParameter("--keywords",
            $"Words to spot, comma-separated; each is a class (default the ten digits and {string.Join(", ", d.Keywords.Skip(10))})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--unknown-words",
            "Words for the \"unknown\" class, comma-separated (default: 50-odd other words, including the real-voice set's non-keywords)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--no-unknown", "Leave out the \"unknown\" class.") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--no-silence", "Leave out the \"silence\" (noise only) class.") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--speakers",
            $"Speakers (voices) in the training split; validation and test get a sixth as many each, at least 2 (default {d.TrainSpeakers} / {d.ValidationSpeakers} / {d.TestSpeakers})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--snr",
            $"SNR of the mixed-in noise in dB: one number or a range low..high (default {d.MinSnrDb}..{d.MaxSnrDb})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--telephone",
            $"Share of clips band-limited to 4 kHz like telephone audio, 0 to 1 (default {d.TelephoneShare})."));
        var full = VoiceRecipes.WithVoiceAugmentation(d);
        directive.Parameters.Add(new KernelDirectiveParameter("--festival",
            $"Share of the training speakers voiced by Festival instead of espeak-ng, 0 to 1 (default 0; needs {FestivalSynthesizer.InstallHint})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--warp",
            "Vocal-tract-length perturbation: each word's frequencies scaled by up to ± this share, 0 to 0.3 (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--tempo", "Tempo change of each word at the same pitch, up to ± this share, 0 to 0.5 (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--rooms", "Share of words played in a synthetic room (RT60 0.1–0.6 s), 0 to 1 (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--voices",
            $"The full voice recipe: --festival {full.FestivalShare} --warp {full.VocalTractWarp} --tempo {full.TempoPerturbation} --rooms {full.ReverbShare} " +
            "(each of those options, when given too, overrides it).") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--seed", "Seed: the same options and seed give the same clips, sample for sample (default 0)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--quick",
            "The quick set: 40 / 8 / 8 speakers (overrides --speakers).") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--no-cache", "Synthesise again even when the cache has this dataset.") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--name", $"Variable name for the KeywordDataset in C# cells (default '{DefaultName}')."));
        magics.Add<KeywordsCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    /// <summary>The dataset options the command asks for (checked by the library's Validate).</summary>
    public static KeywordDatasetOptions Options(KeywordsCommand c)
    {
        var options = new KeywordDatasetOptions();
        if (c.Keywords is not null) options = options with { Keywords = Words(c.Keywords, "--keywords") };
        if (c.UnknownWords is not null) options = options with { UnknownWords = Words(c.UnknownWords, "--unknown-words") };
        options = options with { IncludeUnknown = !c.NoUnknown, IncludeSilence = !c.NoSilence };
        if (c.Speakers is not null)
        {
            int train = OptionValues.Int(c.Speakers, "--speakers", options.TrainSpeakers, min: 1, max: SpeakerCatalog.Voices.Count);
            int other = Math.Max(2, train / 6);
            options = options with { TrainSpeakers = train, ValidationSpeakers = other, TestSpeakers = other };
        }
        if (c.Snr is not null)
        {
            var (min, max) = KeywordDatasetOptions.ParseSnrRange(c.Snr);
            options = options with { MinSnrDb = min, MaxSnrDb = max };
        }
        if (c.Telephone is not null)
        {
            options = options with { TelephoneShare = OptionValues.Double(c.Telephone, "--telephone", 0.3, min: 0, max: 1) };
        }
        if (c.Voices) options = VoiceRecipes.WithVoiceAugmentation(options);
        if (c.Festival is not null) options = options with { FestivalShare = OptionValues.Double(c.Festival, "--festival", 0.5, min: 0, max: 1) };
        if (c.Warp is not null) options = options with { VocalTractWarp = OptionValues.Double(c.Warp, "--warp", 0.1, min: 0, max: 0.3) };
        if (c.Tempo is not null) options = options with { TempoPerturbation = OptionValues.Double(c.Tempo, "--tempo", 0.15, min: 0, max: 0.5) };
        if (c.Rooms is not null) options = options with { ReverbShare = OptionValues.Double(c.Rooms, "--rooms", 0.5, min: 0, max: 1) };
        options = options with { Seed = OptionValues.Int(c.Seed, "--seed", 0, min: 0, max: int.MaxValue) };
        if (c.Quick) options = options.Quick();
        return options.Validate();
    }

    static async Task RunAsync(KeywordsCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var options = Options(c);
        var name = session.ResultName(c.Name, "--name", DefaultName);
        var display = new ThrottledDisplay(context, LiveView.UpdateInterval);
        int total = KeywordDatasetBuilder.ClipsPerSpeaker(options) * (options.TrainSpeakers + options.ValidationSpeakers + options.TestSpeakers);
        display.Show(new HtmlString($"<div>Making {total:N0} clips …</div>"), force: true);
        void Progress(double share) => display.Show(new HtmlString($"<div>Synthesising: {share:P0} of {total:N0} clips</div>"));
        KeywordDataset dataset;
        try { dataset = await Task.Run(() => KeywordDatasetBuilder.Build(options, Progress, useCache: !c.NoCache, cancellation: context.CancellationToken)); }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested) { return; }
        display.Show(dataset, force: true);
        await session.ShareAsync(name, dataset, typeof(KeywordDataset));
    }

    static IReadOnlyList<string> Words(string text, string option) => OptionValues.Names(text, option, "yes,no,stop")!;
}
