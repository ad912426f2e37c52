using EfficientML.Core;
using EfficientML.Distributed;
using static TorchSharp.torch;

namespace EfficientML.Tests;

/// <summary>The in-process transport: point-to-point, collectives, and failures that do not hang the group.</summary>
public class TransportTests
{
    [Fact]
    public void Sends_arrive_in_place_and_collectives_agree_on_every_rank()
    {
        var results = InProcessGroup.Run(3, g =>
        {
            var mine = full(4, g.Rank + 1f);
            if (g.Rank < g.Size - 1) g.Send(mine, g.Rank + 1, tag: 7);
            var received = zeros(4);
            if (g.Rank > 0) g.Receive(received, g.Rank - 1, tag: 7).Wait();
            var sum = full(2, g.Rank + 0.1f);
            g.AllReduceSum(sum);
            var all = zeros(3);
            g.AllGather(full(g.Rank, (float)g.Rank), all, [0, 1, 2]);
            g.Barrier();
            return (received.data<float>().ToArray(), sum.data<float>().ToArray(), all.data<float>().ToArray());
        });
        Assert.Equal([2f, 2, 2, 2], results[2].Item1);
        Assert.Equal([0f, 0, 0, 0], results[0].Item1);
        foreach (var r in results)
        {
            Assert.Equal(new[] { 3.3f, 3.3f }, r.Item2);
            Assert.Equal([1f, 2, 2], r.Item3);
        }
    }

    [Fact]
    public void What_a_worker_returns_outlives_its_thread()
    {
        var config = EfficientML.Distributed.DataParallel.CheckSetup(1).Config;
        var models = InProcessGroup.Run(2, _ => new EfficientML.Models.TinyGpt(config, seed: 1));
        using var reference = new EfficientML.Models.TinyGpt(config, seed: 1);
        foreach (var m in models)
        {
            Assert.Equal(reference.parameters().Count(), m.parameters().Count());
            using var logits = m.Forward(tensor(new long[] { 1, 2, 3 }).unsqueeze(0));   // every weight still usable
            Assert.Equal(3, logits.shape[1]);
            m.Dispose();
        }
    }

    [Fact]
    public void A_failing_worker_stops_the_group_instead_of_hanging_it()
    {
        var e = Assert.Throws<InvalidSettingsException>(() => InProcessGroup.Run(2, g =>
        {
            if (g.Rank == 0) throw new InvalidSettingsException("worker 0 failed");
            g.Receive(zeros(3), 0, 1).Wait();   // would wait forever without the group's abort
            return 0;
        }));
        Assert.Equal("worker 0 failed", e.Message);
    }

    [Fact]
    public void A_mismatched_size_and_a_bad_buffer_get_clear_messages()
    {
        var e = Assert.Throws<EfficientMLException>(() => InProcessGroup.Run(2, g =>
        {
            if (g.Rank == 0) g.Send(zeros(5), 1, 0).Wait();
            else g.Receive(zeros(3), 0, 0).Wait();
            return 0;
        }));
        Assert.Contains("expected 3 values from rank 0", e.Message);
        var bad = Assert.Throws<InvalidSettingsException>(() => InProcessGroup.Run(2, g => g.Send(zeros(4, dtype: ScalarType.Int64), 1 - g.Rank, 0)));
        Assert.Contains("contiguous float32", bad.Message);
        Assert.Throws<InvalidSettingsException>(() => InProcessGroup.Run(0, _ => 0));
    }
}
