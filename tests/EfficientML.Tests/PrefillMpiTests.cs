using EfficientML.Core;
using EfficientML.Distributed;
using EfficientML.Prefill;

namespace EfficientML.Tests;

/// <summary>
/// Prefill and data-parallel training over real MPI processes (MPICH's mpiexec; `.ci/run` installs it): the same
/// equalities as in one process.
/// </summary>
[Trait("Category", "Invariant")]
public class PrefillMpiTests
{
    [Fact]
    public void Over_two_mpi_processes_runahead_and_all_gather_equal_single_process_prefill()
    {
        var results = MpiPrefill.Run(new MpiPrefillJob
        {
            Processes = 2, Model = "pretrained", Lengths = [200], Shares = [0.6, 0.4],
            Methods = [PrefillMethod.Runahead, PrefillMethod.AllGather], Check = true,
        }, TimeSpan.FromMinutes(5));
        Assert.Equal(2, results.Count);
        foreach (var r in results)
        {
            var s = r.Summary;
            Assert.Equal("MPI", s.Transport);
            Assert.Equal(200, s.PromptLength);
            Assert.True(s.AgreesWithSingle(), $"{s.Method}: logits differ by {s.MaxLogitDifference:E2}, cache by {s.MaxCacheDifference:E2} (scale {s.LogitScale:F1})");
            Assert.Contains(s.Timeline, e => e.Worker == 1);   // both processes' timelines came back
        }
        Assert.Equal([120, 80], results.Single(r => r.Summary.Method == PrefillMethod.Runahead).Summary.Chunks);
    }

    [Fact]
    public void Data_parallel_training_over_two_mpi_ranks_equals_one_process_with_the_global_batch()
    {
        var job = MpiLauncher.RunChecked(2, ["data-parallel-check", "--steps", "5"], timeout: TimeSpan.FromMinutes(5));
        Assert.True(job.Output.Contains("data-parallel-check"), $"output: {job.Output}\nerrors: {job.Errors}\n{job.CommandLine}");
        var line = job.Output.Split('\n').Single(l => l.StartsWith("data-parallel-check", StringComparison.Ordinal));
        double difference = double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(difference <= 1e-5, $"weights differ by {difference:E2} after 5 steps");
    }

    [Fact]
    public void Data_parallel_training_over_two_threads_equals_one_process_with_the_global_batch()
    {
        var differences = InProcessGroup.Run(2, group => DataParallel.Check(group, steps: 5));
        Assert.True(differences[0] <= 1e-5, $"weights differ by {differences[0]:E2} after 5 steps");
        Assert.True(double.IsNaN(differences[1]));
    }

    [Fact]
    public void A_global_batch_that_does_not_split_evenly_gets_one_clear_message()
    {
        var e = Assert.Throws<InvalidSettingsException>(() => InProcessGroup.Run(3, group =>
        {
            var (config, options) = DataParallel.CheckSetup(1);
            using var corpus = EfficientML.Text.TextCorpus.MobyDick();
            using var model = new EfficientML.Models.TinyGpt(config, seed: 1);
            return DataParallel.TrainLanguageModel(model, corpus, options, group);
        }));
        Assert.Contains("multiple of 3", e.Message);
    }

    [Fact]
    public void Without_mpich_the_launcher_names_the_package_to_install()
    {
        var e = Assert.Throws<EfficientMLException>(() => MpiLauncher.Mpiexec(searchPath: "/nonexistent"));
        Assert.Contains("apt-get install mpich", e.Message);
    }
}
