using EfficientML.Core;
using EfficientML.Routing;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>
/// A two-tier memory for the nested experts of a routed model, decoding one token at a time: a fast tier (HBM, DRAM)
/// that holds a limited number of neurons, and a slow tier (host memory, flash) that holds every weight and copies them
/// over one load channel. Three policies are compared on the same expert trace:
/// <list type="bullet">
/// <item><b>On demand</b>: a layer's router picks the expert after the layer's attention; whatever is missing is loaded
/// then, and the MLP waits for it.</item>
/// <item><b>Ahead of time</b> (M2R2): when the state after <c>fromLayer</c> blocks is known, a predictor names the
/// experts of every later block; their missing neurons are queued on the load channel at once, in the order the
/// blocks need them, and load while the blocks in between compute. A block whose prediction was too small loads the
/// rest on demand; a prediction larger than needed still serves (nested experts), and its unneeded part is cancelled if
/// its load has not started.</item>
/// <item><b>Oracle</b>: ahead of time with the true experts: perfect prediction from that layer. It bounds the hit rate of
/// prediction, not the latency: a guess larger than needed can leave more behind for later tokens.</item>
/// </list>
/// </summary>
/// <remarks>
/// <para>Units of memory. Expert j of a layer is its first m_j neurons, so the experts of a layer share weights: the
/// fast tier holds, per layer, a prefix of the neurons, in slices [m_(j−1), m_j). Expert j is resident when slices 0 … j
/// are; a larger resident expert serves a smaller request; a miss loads only the missing slices. Eviction removes one
/// slice at a time and only a layer's last slice (so what remains is still a prefix): by default the one used least
/// recently (ties: the larger slice, then the lower layer); see <see cref="ExpertEviction"/>. Slices fetched ahead for a
/// block not yet run are pinned: a later ahead-of-time fetch never evicts them (it is dropped instead, and that block
/// loads on demand), and an on-demand load evicts them only when nothing unpinned is left, the block needed furthest
/// ahead first. A slice takes its room when its load is issued.</para>
/// <para>Time, per token and layer: the attention part (<see cref="ExpertLoadCosts.AttentionTime"/>), then the MLP
/// (<see cref="ExpertLoadCosts.NeuronTime"/> × the expert's neurons), which starts only when every slice of its expert is
/// in the fast tier. The load channel copies one slice at a time (<see cref="ExpertLoadCosts.LoadTimePerNeuron"/> ×
/// its neurons) without pre-emption; on-demand loads go before queued ahead-of-time ones, which are queued in the order
/// the blocks need them. The predictor's own compute is not charged (a LayerNorm and a small linear head per layer).
/// The fast tier starts empty.</para>
/// </remarks>
public static class ExpertCacheSimulation
{
    /// <summary>Fast-tier capacity, in neurons, of <paramref name="experts"/> full experts (MLPs) of <paramref name="sizes"/>.</summary>
    public static int FullExperts(ExpertSizes sizes, int experts) => checked(sizes.Width * experts);

    /// <summary>
    /// Loads every missing expert when its layer asks for it. <paramref name="experts"/>[layer, token] is each token's
    /// expert in each layer (tokens in decoding order); <paramref name="capacity"/> is the fast tier's size in neurons.
    /// </summary>
    public static ExpertCacheResult OnDemand(ExpertSizes sizes, int[,] experts, int capacity, ExpertLoadCosts costs,
        ExpertEviction eviction = ExpertEviction.LeastRecentlyUsed) =>
        Simulate("on demand", sizes, experts, null, 0, capacity, costs, eviction);

    /// <summary>
    /// Loads ahead of time: after <paramref name="fromLayer"/> blocks (1 … L−1) the experts
    /// <paramref name="predicted"/>[l, token] of every later block l = fromLayer … L−1 (0-based) are fetched; rows of
    /// earlier blocks are ignored. Misses of the first blocks and wrong predictions load on demand.
    /// </summary>
    public static ExpertCacheResult AheadOfTime(ExpertSizes sizes, int[,] experts, int[,] predicted, int fromLayer, int capacity,
        ExpertLoadCosts costs, string policy = "ahead of time", ExpertEviction eviction = ExpertEviction.LeastRecentlyUsed)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        return Simulate(policy, sizes, experts, predicted, fromLayer, capacity, costs, eviction);
    }

    /// <summary>Ahead of time with the true experts: what a perfect predictor at <paramref name="fromLayer"/> would give.</summary>
    /// <remarks>With LRU eviction it never ran slower or hit less than on demand in thousands of random traces (a test
    /// checks this); with <see cref="ExpertEviction.FurthestLayer"/> it can, since fetching every later block at once evicts
    /// what the block cycle would otherwise keep.</remarks>
    public static ExpertCacheResult Oracle(ExpertSizes sizes, int[,] experts, int fromLayer, int capacity, ExpertLoadCosts costs,
        ExpertEviction eviction = ExpertEviction.LeastRecentlyUsed) =>
        Simulate("oracle", sizes, experts, experts, fromLayer, capacity, costs, eviction);

    static ExpertCacheResult Simulate(string policy, ExpertSizes sizes, int[,] experts, int[,]? predicted, int fromLayer, int capacity,
        ExpertLoadCosts costs, ExpertEviction eviction)
    {
        Check(sizes, experts, predicted, fromLayer, capacity, costs);
        int layers = experts.GetLength(0), tokens = experts.GetLength(1);
        var memory = new TwoTierMemory(sizes, layers, capacity, costs.LoadTimePerNeuron, eviction);
        double now = 0, compute = 0, stall = 0;
        int hits = 0;
        for (int t = 0; t < tokens; t++)
            for (int l = 0; l < layers; l++)
            {
                if (predicted is not null && l == fromLayer)           // the state after fromLayer blocks is known
                    for (int later = fromLayer; later < layers; later++) memory.FetchAhead(later, predicted[later, t], now, fromLayer);
                now += costs.AttentionTime;
                compute += costs.AttentionTime;
                int expert = experts[l, t];
                double ready = memory.Serve(l, expert, now, out bool hit);
                if (hit) hits++;
                double start = Math.Max(now, ready);
                stall += start - now;
                double mlp = costs.NeuronTime * sizes.Neurons[expert];
                now = start + mlp;
                compute += mlp;
            }
        return new ExpertCacheResult(policy, tokens, tokens * layers, hits, memory.NeuronsLoaded, compute, stall);
    }

    static void Check(ExpertSizes sizes, int[,] experts, int[,]? predicted, int fromLayer, int capacity, ExpertLoadCosts costs)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(experts);
        ArgumentNullException.ThrowIfNull(costs);
        costs.Validate();
        int layers = experts.GetLength(0), tokens = experts.GetLength(1);
        if (layers < 1) throw new InvalidSettingsException("The expert trace has no layers: give experts[layer, token] for every layer of the model.");
        if (capacity < sizes.Width)
            throw new InvalidSettingsException($"The fast tier holds {capacity} neurons, less than the largest expert ({sizes.Width}): give at least {sizes.Width} " +
                "(one full expert), e.g. ExpertCacheSimulation.FullExperts(sizes, 2).");
        CheckExperts(sizes, experts, 0, "experts");
        if (predicted is null) return;
        if (fromLayer < 1 || fromLayer > layers - 1)
            throw new InvalidSettingsException($"Cannot load ahead of time from layer {fromLayer} of a {layers}-layer model: choose fromLayer in 1..{layers - 1} " +
                "(the state after that many blocks predicts the blocks after it).");
        if (predicted.GetLength(0) != layers || predicted.GetLength(1) != tokens)
            throw new InvalidSettingsException($"Predicted experts are [{predicted.GetLength(0)}, {predicted.GetLength(1)}] but the trace is [{layers}, {tokens}]: give one per layer and token (rows before fromLayer are ignored).");
        CheckExperts(sizes, predicted, fromLayer, "predicted");
    }

    static void CheckExperts(ExpertSizes sizes, int[,] experts, int fromLayer, string what)
    {
        for (int l = fromLayer; l < experts.GetLength(0); l++)
            for (int t = 0; t < experts.GetLength(1); t++)
                if (experts[l, t] < 0 || experts[l, t] >= sizes.Count)
                    throw new InvalidSettingsException($"{what}[{l}, {t}] = {experts[l, t]} is not an expert: use 0..{sizes.Count - 1} ({sizes}).");
    }

    /// <summary>The fast tier's contents and the load channel (see the class remarks for the rules).</summary>
    sealed class TwoTierMemory
    {
        readonly int[] slice;            // neurons of slice j: m_j − m_(j−1)
        readonly int layers, capacity;
        readonly double loadTime;
        readonly ExpertEviction eviction;
        readonly int[] held;             // per layer: slices 0 … held−1 are in the fast tier, loading, or queued
        readonly double[,] ready;        // when a held slice is (or will be) in the fast tier; +∞ while queued
        readonly long[,] lastUse;
        readonly bool[,] pinned;         // fetched ahead for a block this token has not reached
        readonly List<(int Layer, int Slice, double Issued)> queue = [];  // ahead-of-time loads not started, in need order
        int used;
        long clock, loaded;
        double channelFree;

        public TwoTierMemory(ExpertSizes sizes, int layers, int capacity, double loadTime, ExpertEviction eviction)
        {
            this.eviction = eviction;
            slice = sizes.Neurons.Select((m, j) => m - (j == 0 ? 0 : sizes.Neurons[j - 1])).ToArray();
            this.layers = layers;
            this.capacity = capacity;
            this.loadTime = loadTime;
            held = new int[layers];
            ready = new double[layers, slice.Length];
            lastUse = new long[layers, slice.Length];
            pinned = new bool[layers, slice.Length];
        }

        public long NeuronsLoaded => loaded;

        /// <summary>Queues the missing slices of <paramref name="expert"/> for <paramref name="layer"/> and pins the whole prefix.</summary>
        public void FetchAhead(int layer, int expert, double now, int position)
        {
            for (int j = 0; j <= expert; j++)
            {
                if (j < held[layer])
                {
                    pinned[layer, j] = true;
                    continue;
                }
                if (!Allocate(layer, j, position, onDemand: false)) return;      // no unpinned room left: this block loads on demand
                ready[layer, j] = double.PositiveInfinity;
                pinned[layer, j] = true;
                lastUse[layer, j] = ++clock;
                queue.Add((layer, j, now));
            }
        }

        /// <summary>
        /// Serves <paramref name="expert"/> of <paramref name="layer"/> asked for at <paramref name="now"/>: returns when
        /// all its slices are in the fast tier; <paramref name="hit"/> when none had to be loaded on demand.
        /// </summary>
        public double Serve(int layer, int expert, double now, out bool hit)
        {
            Drain(now);
            // Queued ahead-of-time slices of this layer beyond what it needs are cancelled (the queue's tail of this layer).
            for (int i = queue.Count - 1; i >= 0; i--)
                if (queue[i].Layer == layer && queue[i].Slice > expert)
                {
                    Release(layer, queue[i].Slice);
                    queue.RemoveAt(i);
                }
            hit = held[layer] > expert;
            while (queue.Count > 0 && queue[0].Layer == layer) Start(Math.Max(channelFree, queue[0].Issued));
            for (int j = held[layer]; j <= expert; j++)
            {
                if (!Allocate(layer, j, layer, onDemand: true))
                    throw new InvalidOperationException("The fast tier cannot hold one expert; the capacity check should have caught this.");
                ready[layer, j] = Math.Max(channelFree, now) + loadTime * slice[j];
                channelFree = ready[layer, j];
                loaded += slice[j];
            }
            double done = 0;
            long use = ++clock;
            for (int j = 0; j <= expert; j++)
            {
                done = Math.Max(done, ready[layer, j]);
                lastUse[layer, j] = use;
            }
            for (int j = 0; j < held[layer]; j++) pinned[layer, j] = false;
            return done;
        }

        /// <summary>Starts every queued load the channel can begin before <paramref name="until"/>.</summary>
        void Drain(double until)
        {
            while (queue.Count > 0)
            {
                double start = Math.Max(channelFree, queue[0].Issued);
                if (start >= until) return;
                Start(start);
            }
        }

        void Start(double start)
        {
            var (layer, j, _) = queue[0];
            queue.RemoveAt(0);
            ready[layer, j] = start + loadTime * slice[j];
            channelFree = ready[layer, j];
            loaded += slice[j];
        }

        /// <summary>Makes room for slice <paramref name="j"/> of <paramref name="layer"/> (the next of its prefix) and takes it.</summary>
        bool Allocate(int layer, int j, int position, bool onDemand)
        {
            while (used + slice[j] > capacity)
            {
                int victim = -1;
                for (int x = 0; x < layers; x++)
                {
                    if (x == layer || held[x] == 0 || pinned[x, held[x] - 1]) continue;
                    if (victim < 0 || Before(x, victim, position)) victim = x;
                }
                if (victim < 0 && onDemand)                             // only pinned slices left: the block needed last gives way
                    for (int x = layers - 1; x >= 0 && victim < 0; x--)
                        if (x != layer && held[x] > 0) victim = x;
                if (victim < 0) return false;
                int tail = held[victim] - 1;
                int queued = queue.FindIndex(q => q.Layer == victim && q.Slice == tail);
                if (queued >= 0) queue.RemoveAt(queued);
                Release(victim, tail);
            }
            held[layer]++;
            used += slice[j];
            return true;
        }

        /// <summary>Whether layer x's last slice goes before layer y's, the next block to run being <paramref name="position"/>.</summary>
        bool Before(int x, int y, int position)
        {
            int a = held[x] - 1, b = held[y] - 1;
            if (eviction == ExpertEviction.FurthestLayer)
            {
                int dx = (x - position + layers) % layers, dy = (y - position + layers) % layers;
                if (dx != dy) return dx > dy;
                return a > b;
            }
            if (lastUse[x, a] != lastUse[y, b]) return lastUse[x, a] < lastUse[y, b];
            return a > b;                                               // then the larger slice (full ties keep the lower layer)
        }

        void Release(int layer, int j)
        {
            pinned[layer, j] = false;
            held[layer]--;
            used -= slice[j];
        }
    }
}
