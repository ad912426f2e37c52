using EfficientML.Core;
using EfficientML.Prefill;

namespace EfficientML.Tests;

/// <summary>Context-level load balancing: the cost model, the search and the lookup table.</summary>
public class PartitionSearchTests
{
    // Attention-heavy costs, like a long prompt: 2 ns per (query, key) pair, 1 µs per token, 50 µs per layer; fast hand-offs.
    static PartitionCostModel Model(double alpha = 2e-9) => new(alpha, 1e-6, 50e-6, 10e9, 20e-6, Layers: 8, BytesPerPosition: 1024);

    [Fact]
    public void The_prediction_for_one_worker_is_the_whole_prompt_and_uneven_chunks_beat_even_ones()
    {
        var m = Model();
        Assert.Equal(m.PredictSingle(2048), m.Predict([2048]), 9);
        var best = m.Optimise(2048, 2);
        Assert.True(best[0] > best[1], $"earlier chunks should be longer: [{string.Join(",", best)}]");
        Assert.True(m.Predict(best) < m.Predict(Partitions.Even(2048, 2)));
        Assert.True(m.Predict(best) < m.PredictSingle(2048));
        var four = m.Optimise(4096, 4);
        Assert.True(four.Zip(four.Skip(1)).All(p => p.First >= p.Second), $"[{string.Join(",", four)}]");
        Assert.Equal(4096, four.Sum());
    }

    [Fact]
    public void The_measured_search_finds_the_optimum_of_what_it_measures_even_when_the_model_is_off()
    {
        // The "machine" has twice the attention cost the model assumes: the measured refinement must correct the proposal.
        var truth = Model(alpha: 4e-9);
        var result = PartitionSearch.Search(Model(), 2048, 2, chunks => truth.Predict(chunks), levels: 6);
        var optimum = truth.Optimise(2048, 2);
        Assert.True(Math.Abs(result.Best.Chunks[0] - optimum[0]) <= 8, $"found [{string.Join(",", result.Best.Chunks)}], optimum [{string.Join(",", optimum)}]");
        Assert.True(result.Best.Measured <= result.Even.Measured);
        Assert.Contains(result.Tried, c => c.Level > 1);
    }

    [Fact]
    public void The_table_interpolates_between_lengths_and_survives_a_round_trip()
    {
        var table = new PartitionTable();
        table.Add(new PartitionEntry(2, 1000, [0.6, 0.4], 1));
        table.Add(new PartitionEntry(2, 3000, [0.7, 0.3], 2));
        Assert.Equal([1300, 700], table.Lookup(2, 2000)!);
        Assert.Equal([300, 200], table.Lookup(2, 500)!);     // below every entry: the nearest one's shares
        Assert.Null(table.Lookup(4, 2000));
        var path = Path.Combine(Path.GetTempPath(), $"partitions-{Guid.NewGuid():N}.json");
        try
        {
            table.Save(path);
            Assert.Equal([1300, 700], PartitionTable.Load(path).Lookup(2, 2000)!);
            File.WriteAllText(path, "not json");
            Assert.Contains("is not a partition table", Assert.Throws<InvalidSettingsException>(() => PartitionTable.Load(path)).Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Shares_become_whole_chunks_that_add_up()
    {
        Assert.Equal([3, 3, 2, 2], Partitions.Even(10, 4));
        Assert.Equal([1, 1, 8], Partitions.FromShares([0.0001, 0.0001, 1], 10));
        Assert.Equal(1001, Partitions.FromShares([0.33, 0.33, 0.34], 1001).Sum());
    }
}
