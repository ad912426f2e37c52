using EfficientML.Speculative;

namespace EfficientML.Pipeline;

/// <summary>How clustering changed the routed model at the θ picked: quality, compute and the experts the routers chose.</summary>
/// <param name="Theta">The sensitivity picked by the routing step.</param>
/// <param name="BitsBefore">Validation bits per byte before clustering.</param>
/// <param name="BitsAfter">The same with the clustered weights.</param>
/// <param name="ComputeBefore">MLP compute (routers included) as a share of dense, before.</param>
/// <param name="ComputeAfter">The same after.</param>
/// <param name="SameExpertShare">Share of (token, layer) choices that stayed on the same expert.</param>
public sealed record RoutersUnderClustering(double Theta, double BitsBefore, double BitsAfter, double ComputeBefore, double ComputeAfter, double SameExpertShare);

/// <summary>One measurement of how well a draft fits a target.</summary>
/// <param name="Question">The interaction asked about, e.g. "grown model, before training".</param>
/// <param name="Drafter">The draft ("start model", "draft model", an M2R2 exit).</param>
/// <param name="Target">The target it drafts for.</param>
/// <param name="Agreement">Share of validation positions where the draft's greedy choice equals the target's.</param>
/// <param name="AcceptanceRate">Share of drafted tokens accepted in real greedy speculative decoding (null where the target cannot decode with a cache).</param>
/// <param name="SameAsPlain">Whether that decoding equalled plain greedy decoding token for token (null where not decoded).</param>
public sealed record DraftFit(string Question, string Drafter, string Target, double Agreement, double? AcceptanceRate, bool? SameAsPlain);

/// <summary>The cluster step's recipe at one bit width: the dense model's quality and the palettes' size.</summary>
/// <param name="Bits">Bits per weight of the palettes.</param>
/// <param name="DenseBits">Validation bits per byte of the clustered weights run dense (θ = 1), so every width is compared alike.</param>
/// <param name="PaletteBytes">Bytes of the palettised model's file (tables, packed indices, the weights left in float32).</param>
/// <param name="BitsPerClusteredWeight">Storage per clustered weight, tables included.</param>
public sealed record BitWidthVariant(int Bits, double DenseBits, long PaletteBytes, double BitsPerClusteredWeight);

/// <summary>The routing step's sweep and the operating point it picked.</summary>
/// <param name="Sweep">The routed model at each θ of the sweep.</param>
/// <param name="Dense">The full static width (the dense model) on the same windows.</param>
/// <param name="Theta">The θ kept: the cheapest within the budget (1 when none was).</param>
/// <param name="LossBudget">The allowed relative loss over dense.</param>
public sealed record RoutingChoice(IReadOnlyList<Routing.RoutingPoint> Sweep, Routing.RoutingPoint Dense, double Theta, double LossBudget);

/// <summary>The interactions between techniques the pipeline measured as it went.</summary>
public sealed class PipelineInteractions
{
    readonly List<DraftFit> _drafts = [];
    readonly List<BitWidthVariant> _bitWidths = [];

    /// <summary>Clustering against the routers (when both steps ran, routing first).</summary>
    public RoutersUnderClustering? RoutersUnderClustering { get; internal set; }

    /// <summary>The routing step's sweep and pick.</summary>
    public RoutingChoice? Routing { get; internal set; }

    /// <summary>Each draft against each target it was measured on.</summary>
    public IReadOnlyList<DraftFit> DraftFits => _drafts;

    /// <summary>The decode step's race on the final target (plain greedy first).</summary>
    public IReadOnlyList<RaceLine>? Race { get; internal set; }

    /// <summary>The cluster step's recipe at each bit width compared (<see cref="PipelineOptions.CompareBits"/>, the one kept included), fewest bits first.</summary>
    public IReadOnlyList<BitWidthVariant> BitWidths => _bitWidths.OrderBy(v => v.Bits).ToList();

    internal void Add(DraftFit fit) => _drafts.Add(fit);

    internal void Add(BitWidthVariant variant) => _bitWidths.Add(variant);
}
