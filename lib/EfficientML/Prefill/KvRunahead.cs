using EfficientML.Core;
using EfficientML.Distributed;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Prefill;

/// <summary>
/// One worker's share of a prefill. The last worker holds the first-token logits and (unless not kept) the full KV cache.
/// </summary>
public sealed class WorkerPrefill : IDisposable
{
    internal WorkerPrefill(int worker, int start, int length, IReadOnlyList<TimelineEvent> events, Tensor? logits, KvCache? cache, double seconds, long bytesSent)
    {
        (Worker, Start, Length, Events, Logits, Cache, Seconds, BytesSent) = (worker, start, length, events, logits, cache, seconds, bytesSent);
    }

    /// <summary>Rank of the worker.</summary>
    public int Worker { get; }

    /// <summary>First prompt position of its chunk.</summary>
    public int Start { get; }

    /// <summary>Tokens in its chunk.</summary>
    public int Length { get; }

    /// <summary>What it did, when.</summary>
    public IReadOnlyList<TimelineEvent> Events { get; }

    /// <summary>Logits (V) for the token after the prompt: only on the last worker.</summary>
    public Tensor? Logits { get; }

    /// <summary>The KV cache it ends with (the last worker's holds every prompt position).</summary>
    public KvCache? Cache { get; }

    /// <summary>Seconds from the common start until it finished its part (the last worker: time to first token).</summary>
    public double Seconds { get; }

    /// <summary>Bytes of keys and values it sent (hand-offs, or its share of the all-gathers).</summary>
    public long BytesSent { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Logits?.Dispose();
        Cache?.Dispose();
    }
}

/// <summary>
/// KV-Runahead (parallel prefill by handing the KV cache on) and its two baselines, for any <see cref="ICommunicator"/>:
/// threads of one process for teaching and tests, MPI processes for real. Every method runs the model's own blocks with
/// its own KV cache, so the cache the last worker ends with is the one single-process prefill makes, ready for decoding.
/// </summary>
public static class KvRunahead
{
    /// <summary>
    /// This worker's part of prefilling <paramref name="prompt"/> with <paramref name="chunks"/> (one length per rank of
    /// <paramref name="group"/>). Every rank calls it with the same arguments; the group starts together (a barrier).
    /// </summary>
    public static WorkerPrefill RunWorker(TinyGpt model, IReadOnlyList<int> prompt, IReadOnlyList<int> chunks, PrefillMethod method, ICommunicator group, bool keepCache = true)
    {
        if (chunks.Count != group.Size)
            throw new InvalidSettingsException($"The partition has {chunks.Count} chunks but the group has {group.Size} workers.");
        if (chunks.Sum() != prompt.Count) throw new InvalidSettingsException($"The chunks sum to {chunks.Sum()} tokens but the prompt has {prompt.Count}.");
        if (method == PrefillMethod.Single && group.Size != 1) throw new InvalidSettingsException("Single-process prefill runs on one worker.");
        int rank = group.Rank, start = Partitions.Starts(chunks)[rank], length = chunks[rank];
        bool last = rank == group.Size - 1;
        using var mode = inference_mode();
        using var eval = new EvalMode(model);
        using var scope = NewDisposeScope();   // activations; the logits and the cache it returns are detached from it
        var ids = tensor(prompt.Skip(start).Take(length).Select(t => (long)t).ToArray(), device: model.Device).unsqueeze(0);
        // The all-gather baseline holds every position; KV-Runahead's worker only the prefix and its own chunk; the last worker's
        // kept cache has room to decode on.
        var cache = model.CreateCache(1, last && keepCache ? model.Config.ContextLength : method == PrefillMethod.AllGather ? prompt.Count : start + length);
        var sends = new List<ITransfer>();
        long bytes = 0;
        Tensor? logits = null;
        group.Barrier();
        var timeline = new TimelineRecorder(rank, () => group.Seconds);
        try
        {
            // Receives are posted before any work, straight into the cache's buffers, so they land while this worker computes.
            var receives = method == PrefillMethod.Runahead && rank > 0
                ? Enumerable.Range(0, model.Config.Layers).Select(l => group.Receive(cache.HoldRows(l, start), rank - 1, l)).ToArray()
                : null;
            var x = timeline.Record(Activity.Compute, -1, () => model.wte.forward(ids) + model.wpe.weight!.narrow(0, start, length));
            for (int l = 0; l < model.Config.Layers; l++)
            {
                var block = model.blocks[l];
                int layer = l;
                if (method == PrefillMethod.AllGather)
                {
                    x = AllGatherLayer(model.Config, block, x, cache, layer, start, chunks, group, timeline, ref bytes);
                    continue;
                }
                if (receives != null) timeline.Record(Activity.Wait, layer, receives[layer].Wait);
                var input = x;
                x = timeline.Record(Activity.Compute, layer, () => block.Forward(input, cache, layer, start));
                if (method == PrefillMethod.Runahead && !last)
                {
                    var rows = cache.HoldRows(layer, start + length);   // prefix + own chunk, contiguous
                    long size = rows.numel() * sizeof(float);
                    sends.Add(timeline.Record(Activity.Send, layer, () => group.Send(rows, rank + 1, layer), size));
                    bytes += size;
                }
            }
            if (last) logits = timeline.Record(Activity.Compute, -1, () => model.Logits(x.select(1, -1))[0].clone().DetachFromDisposeScope());
            if (sends.Count > 0) timeline.Record(Activity.Send, -1, () => { foreach (var s in sends) s.Wait(); });
            double seconds = timeline.Now;
            bool keep = keepCache && last;
            var result = new WorkerPrefill(rank, start, length, timeline.Events, logits, keep ? cache : null, seconds, bytes);
            if (!keep) cache.Dispose();
            return result;
        }
        catch
        {
            foreach (var s in sends) try { s.Wait(); } catch { /* the group is failing anyway */ }
            cache.Dispose();
            logits?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One layer of the all-gather baseline: project this chunk's queries, keys and values; all-gather every chunk's keys and
    /// values; attend causally over the positions up to the chunk's end; MLP. The same fused projection and cache as decoding.
    /// </summary>
    static Tensor AllGatherLayer(TinyGptConfig config, Block block, Tensor x, KvCache cache, int layer, int start, IReadOnlyList<int> chunks, ICommunicator group,
        TimelineRecorder timeline, ref long bytes)
    {
        var c = block.attn;
        int kvWidth = config.KvHeads * config.HeadDim, width = config.Heads * config.HeadDim;
        long t = x.shape[1];
        Tensor q = null!, mine = null!;
        timeline.Record(Activity.Compute, layer, () =>
        {
            var projection = cache.Projection(layer, c);
            var qkv = F.linear(block.ln_1.forward(x), projection.Weight, projection.Bias);           // (1, T, H·hd + 2·Hkv·hd)
            q = qkv.narrow(2, 0, width);
            mine = qkv.narrow(2, width, 2 * kvWidth).contiguous();                                    // (1, T, 2·Hkv·hd)
        });
        int total = chunks.Sum();
        var all = cache.HoldRows(layer, total);
        var counts = chunks.Select(n => n * 2 * kvWidth).ToArray();
        long size = mine.numel() * sizeof(float);
        timeline.Record(Activity.Wait, layer, () => group.AllGather(mine, all, counts), size);
        bytes += size;
        return timeline.Record(Activity.Compute, layer, () =>
        {
            var (keys, values) = cache.Layer(layer);
            var k = keys.narrow(2, 0, start + t);
            var v = values.narrow(2, 0, start + t);
            if (config.KvHeads != config.Heads)
            {
                k = k.repeat_interleave(config.Heads / config.KvHeads, dim: 1);
                v = v.repeat_interleave(config.Heads / config.KvHeads, dim: 1);
            }
            var qh = q.view(1, t, config.Heads, config.HeadDim).transpose(1, 2);
            var y = start == 0
                ? F.scaled_dot_product_attention(qh, k, v, is_casual: true)
                : F.scaled_dot_product_attention(qh, k, v, attn_mask: cache.Mask(t, start, 1));
            var h = x + c.o_proj.forward(y.transpose(1, 2).reshape(1, t, width));
            return h + block.mlp.forward(block.ln_2.forward(h));
        });
    }

    /// <summary>
    /// Prefills <paramref name="prompt"/> with threads of this process as the workers (one per chunk), each with one torch
    /// thread of its own, and returns every worker's part and the timeline. The caller disposes the result.
    /// </summary>
    public static PrefillRun Prefill(TinyGpt model, IReadOnlyList<int> prompt, PrefillOptions? options = null)
    {
        var o = options ?? new PrefillOptions();
        var chunks = o.ChunksFor(prompt.Count, model.Config.ContextLength);
        CheckTokens(model, prompt);
        var workers = InProcessGroup.Run(chunks.Length, group => RunWorker(model, prompt, chunks, o.Method, group, o.KeepCache));
        return new PrefillRun(o.Method, chunks, workers, "in-process");
    }

    /// <summary>
    /// Median time to first token of <paramref name="rounds"/> in-process prefills with <paramref name="options"/> (after one
    /// warm-up), without keeping caches: the measure a partition search minimises when the workers are threads.
    /// </summary>
    public static double MedianTime(TinyGpt model, IReadOnlyList<int> prompt, PrefillOptions options, int rounds = 3)
    {
        if (rounds < 1) throw new InvalidSettingsException($"Time at least one round (got {rounds}).");
        var o = options with { KeepCache = false };
        var times = new List<double>();
        for (int r = 0; r <= rounds; r++)
        {
            using var run = Prefill(model, prompt, o);
            if (r > 0) times.Add(run.TimeToFirstToken);
        }
        return BatchStatistics.Median(times);
    }

    /// <summary>Throws one clear message for token ids the model does not know.</summary>
    public static void CheckTokens(TinyGpt model, IReadOnlyList<int> prompt)
    {
        if (prompt.Any(t => t < 0 || t >= model.Config.VocabSize))
            throw new InvalidSettingsException($"Prompt token ids must lie in 0..{model.Config.VocabSize - 1}: use the tokenizer the model was trained with.");
    }
}
