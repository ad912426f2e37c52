using System.Diagnostics;
using System.Text.Encodings.Web;
using EfficientML.Core;
using EfficientML.Speculative;
using EfficientML.Text;
using Microsoft.AspNetCore.Html;

namespace EfficientML.Interactive;

/// <summary>
/// The live output of <c>#!speculate</c>, redrawn in place: what is being done, the accelerators' training with its loss
/// chart (when they are trained), the plain baseline's speed, and while decoding the coloured token stream so far with its
/// acceptance rate and speed. The magic replaces it with the finished run. Tokens arrive on the decoding thread and are
/// drawn from another: both sides take the lock.
/// </summary>
sealed class SpeculateView(ITokenizer tokenizer, string prompt) : IHtmlContent
{
    readonly object _gate = new();
    readonly List<SpeculativeToken> _tokens = new();
    readonly List<SpeculationRound> _rounds = new();
    Stopwatch? _decoding;
    string _drafter = "";
    volatile string _stage = "";
    volatile string _note = "";

    /// <summary>What the magic is doing now ("" when nothing).</summary>
    public string Stage
    {
        get => _stage;
        set => _stage = value ?? "";
    }

    /// <summary>One line about where the accelerators come from ("" when nothing to say).</summary>
    public string Note
    {
        get => _note;
        set => _note = value ?? "";
    }

    /// <summary>The accelerators' training, while and after it runs (null when none was needed).</summary>
    public TrainingRun? Run { get; set; }

    /// <summary>Plain decoding's speed in tokens per second, once measured.</summary>
    public double? PlainTokensPerSecond { get; set; }

    /// <summary>Starts the clock of the speculative run and the stream drawn from now on.</summary>
    public void StartDecoding(string drafter)
    {
        lock (_gate)
        {
            _tokens.Clear();
            _rounds.Clear();
            _drafter = drafter;
            _decoding = Stopwatch.StartNew();
        }
    }

    public void Add(SpeculativeToken token)
    {
        lock (_gate) _tokens.Add(token);
    }

    public void Add(SpeculationRound round)
    {
        lock (_gate) _rounds.Add(round);
    }

    public void WriteTo(TextWriter writer, HtmlEncoder encoder)
    {
        SpeculativeToken[] tokens;
        SpeculationRound[] rounds;
        double seconds;
        string drafter;
        lock (_gate)
        {
            tokens = _tokens.ToArray();
            rounds = _rounds.ToArray();
            seconds = _decoding?.Elapsed.TotalSeconds ?? 0;
            drafter = _drafter;
        }
        writer.Write($"<div class=\"efml-speculate-live\" style=\"{Html.BlockStyle}\">");
        if (Stage.Length > 0) writer.Write($"<div class=\"efml-speculate-stage\" style=\"margin-bottom:4px;color:#555\">⏳ {Html.Encode(Stage)}</div>");
        if (Note.Length > 0) writer.Write($"<div style=\"margin-bottom:4px\">{Html.Encode(Note)}</div>");
        if (Run is { } run) writer.Write(TrainingRunHtml.Render(run));
        if (PlainTokensPerSecond is double plain)
            writer.Write($"<div style=\"margin:4px 0\">Plain decoding (the baseline): <b>{Html.Count((long)Math.Round(plain))}</b> tokens/s</div>");
        if (_decoding is not null)
        {
            int drafted = rounds.Sum(r => r.Drafted), accepted = rounds.Sum(r => r.Accepted);
            var rate = drafted == 0 ? "–" : Format.Percent((double)accepted / drafted);
            var speed = seconds > 0 ? Html.Count((long)Math.Round(tokens.Length / seconds)) : "–";
            writer.Write($"<div class=\"efml-speculate-progress\" style=\"margin:4px 0\"><b>{Html.Encode(drafter)}</b> · {Html.Count(tokens.Length)} tokens in {Html.Count(rounds.Length)} rounds · " +
                         $"acceptance <b>{rate}</b> · <b>{speed}</b> tokens/s so far</div>");
            writer.Write(SpeculativeCharts.TokenStream(tokens, tokenizer, prompt, $"{drafter}: where each token came from"));
        }
        writer.Write("</div>");
    }
}
