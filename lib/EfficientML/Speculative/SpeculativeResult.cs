namespace EfficientML.Speculative;

/// <summary>Where an emitted token came from.</summary>
public enum TokenSource
{
    /// <summary>A draft token the target accepted.</summary>
    Accepted,

    /// <summary>The target's own token in place of the first rejected draft.</summary>
    Corrected,

    /// <summary>The target's token after every draft of the round was accepted (or a round without drafts).</summary>
    Bonus,
}

/// <summary>One emitted token: its id, where it came from, its round and (for accepted drafts) its draft position 1 … γ.</summary>
public sealed record SpeculativeToken(int Token, TokenSource Source, int Round, int DraftPosition);

/// <summary>One draft-and-verify round: drafts proposed and kept, and the time spent on each half.</summary>
public sealed record SpeculationRound(int Index, int Drafted, int Accepted, double DraftSeconds, double VerifySeconds)
{
    /// <summary>Tokens the round emitted (accepted drafts plus the target's token).</summary>
    public int Emitted => Accepted + 1;
}

/// <summary>What a speculative decoding run produced and what it cost.</summary>
public sealed class SpeculativeResult
{
    /// <summary>
    /// A run's record: <paramref name="drafter"/>'s name, the emitted <paramref name="tokens"/> in order, every round, the
    /// run's wall time and the part of it spent reading the prompt (<see cref="SpeculativeDecoder.Generate"/> makes these;
    /// build one by hand to chart saved or made-up figures).
    /// </summary>
    public SpeculativeResult(string drafter, IReadOnlyList<SpeculativeToken> tokens, IReadOnlyList<SpeculationRound> rounds, double seconds, double prefillSeconds)
    {
        Drafter = drafter ?? throw new ArgumentNullException(nameof(drafter));
        Stream = tokens ?? throw new ArgumentNullException(nameof(tokens));
        Rounds = rounds ?? throw new ArgumentNullException(nameof(rounds));
        Seconds = seconds;
        PrefillSeconds = prefillSeconds;
    }

    /// <summary>Name of the drafter.</summary>
    public string Drafter { get; }

    /// <summary>Every emitted token with its source.</summary>
    public IReadOnlyList<SpeculativeToken> Stream { get; }

    /// <summary>The emitted token ids.</summary>
    public int[] Tokens => Stream.Select(t => t.Token).ToArray();

    /// <summary>Every round in order.</summary>
    public IReadOnlyList<SpeculationRound> Rounds { get; }

    /// <summary>Wall time of the whole run (prefill included).</summary>
    public double Seconds { get; }

    /// <summary>Wall time of reading the prompt into the cache.</summary>
    public double PrefillSeconds { get; }

    /// <summary>Emitted tokens per second of decoding (prefill excluded).</summary>
    public double TokensPerSecond => Stream.Count / Math.Max(1e-9, Seconds - PrefillSeconds);

    /// <summary>Draft tokens proposed over the run.</summary>
    public int Drafted => Rounds.Sum(r => r.Drafted);

    /// <summary>Share of proposed drafts the target accepted.</summary>
    public double AcceptanceRate => Drafted == 0 ? 0 : (double)Rounds.Sum(r => r.Accepted) / Drafted;

    /// <summary>Mean tokens emitted per round (accepted drafts + 1): the tokens each full-model pass yields.</summary>
    public double MeanAcceptedLength => Rounds.Count == 0 ? 0 : Rounds.Average(r => (double)r.Emitted);

    /// <summary>Share of the run's time spent drafting (the rest verifying), prefill excluded.</summary>
    public double DraftShare
    {
        get
        {
            double d = Rounds.Sum(r => r.DraftSeconds), v = Rounds.Sum(r => r.VerifySeconds);
            return d + v == 0 ? 0 : d / (d + v);
        }
    }

    /// <summary>
    /// For draft positions 1 … the largest γ: the share of rounds that drafted that far whose draft at that position was accepted
    /// (acceptance falls with position because a draft only counts once every earlier one was accepted).
    /// </summary>
    public double[] AcceptanceByPosition
    {
        get
        {
            int max = Rounds.Count == 0 ? 0 : Rounds.Max(r => r.Drafted);
            var rate = new double[max];
            for (int i = 0; i < max; i++)
            {
                var reached = Rounds.Where(r => r.Drafted > i).ToList();
                rate[i] = reached.Count == 0 ? 0 : (double)reached.Count(r => r.Accepted > i) / reached.Count;
            }
            return rate;
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Drafter}: {Stream.Count} tokens in {Rounds.Count} rounds, acceptance {AcceptanceRate:P0}, {MeanAcceptedLength:F2} tokens per full pass, {TokensPerSecond:F0} tokens/s";
}
