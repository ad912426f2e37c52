using EfficientML.Clustering;
using EfficientML.Text;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// DKM and eDKM: bytes kept for backward by one clustered decoder layer with each eDKM trick added (ratio against plain
/// DKM, and the step time against it), then the pretrained model compressed to 4, 3 and 2 bits per weight by post-training
/// k-means and by DKM fine-tuning: validation loss and size. Settings: <see cref="ClusteringExperiments"/>.
/// </summary>
public sealed class ClusteringSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "clustering";

    /// <inheritdoc />
    public string Description => "eDKM memory per trick on a decoder layer; bits vs loss vs size for k-means and DKM fine-tuning";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        using var corpus = TextCorpus.MobyDick();
        var rows = new List<Measurement>();
        var layer = ClusteringExperiments.DecoderLayer(quick);
        var memory = ClusteringExperiments.SavedMemory(corpus, new DkmOptions { Bits = 3 }, quick);
        var plain = memory[0];
        string shape = $"decoder layer d={layer.Dim}, MLP {layer.MlpDim}, 3 bits";
        foreach (var row in memory)
        {
            log.WriteLine($"{row.Name}: {row.PeakBytes:N0} B total, {row.PeakBytesPerWorker:N0} B per worker, {row.StepSeconds:F3} s/step, loss {row.Loss:F4}");
            rows.Add(new($"saved for backward, {row.Name}", row.PeakBytesPerWorker / 1e6, "MB/worker", "plain DKM",
                plain.PeakBytesPerWorker / (double)row.PeakBytesPerWorker, $"{shape}; all workers {row.PeakBytes / 1e6:F2} MB"));
        }
        foreach (var row in memory.Skip(1))
            rows.Add(new($"step time, {row.Name}", row.StepSeconds, "s", "plain DKM", row.StepSeconds / plain.StepSeconds, "forward + backward, median"));

        var results = ClusteringExperiments.Compression(corpus, quick);
        foreach (var r in results)
        {
            log.WriteLine($"{r.Method} {r.Bits} bits: {r.ValidationBits:F3} bits/byte, {r.ModelBytes:N0} B");
            var name = r.Bits == 0 ? "float32 model" : $"{r.Bits}-bit {r.Method}";
            rows.Add(new($"{name}: validation loss", r.ValidationBits, "bits/byte", Note: $"{r.ModelBytes / 1e6:F2} MB, clustered weights at {r.ClusteredBitsPerWeight:F2} bits each"));
            if (r.Bits > 0)
                rows.Add(new($"{name}: model size", r.ModelBytes / 1e6, "MB", "float32", r.CompressionRatio, "packed indices + float32 tables; embeddings, norms and biases float32"));
        }
        return rows;
    }
}
