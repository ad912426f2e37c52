using EfficientML.Interactive.Scripting;
using EfficientML.Prefill;

namespace EfficientML.Interactive.Tests;

public class PrefillMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Prefill_runs_each_method_in_threads_checks_it_against_single_and_draws_the_timelines()
    {
        var shown = await Kernel.SucceedAsync("#!prefill --length 64 --name p64");
        var html = string.Join("\n", TestKernel.Html(shown));
        Assert.Contains("KV-Runahead (in-process, 2 workers, 64 tokens)", html);
        Assert.Contains("\"type\":\"bar\"", html);
        Assert.Contains("Δ logits vs single", html);
        var summary = Assert.IsType<PrefillSummary>(TestKernel.ReturnValue(await Kernel.SucceedAsync("p64")));
        Assert.Equal([32, 32], summary.Chunks);
        Assert.Equal(PrefillMethod.Runahead, summary.Method);
        Assert.NotNull(summary.MaxLogitDifference);
        Assert.True(summary.MaxLogitDifference <= 1e-3, $"Δ logits {summary.MaxLogitDifference}");
        Assert.Contains(summary.Timeline, e => e.Worker == 1 && e.Activity == Activity.Wait);

        var race = Assert.IsType<PrefillRace>(TestKernel.ReturnValue(await Kernel.SucceedAsync(
            "#!prefill --method race --length 64 --partition 40,24 --name race64\nrace64")));
        Assert.Equal([PrefillMethod.Single, PrefillMethod.AllGather, PrefillMethod.Runahead], race.Summaries.Select(s => s.Method));
        Assert.Equal([40, 24], race[PrefillMethod.Runahead]!.Chunks);
        Assert.Null(race[PrefillMethod.Single]!.MaxLogitDifference);
        Assert.All(race.Summaries, s => Assert.Equal(race.Summaries[0].FirstToken, s.FirstToken));
        var raceHtml = string.Join("\n", TestKernel.Html(await Kernel.SucceedAsync("#!prefill --method race --length 48 --workers 3 --name race48")));
        Assert.Contains("Prefill race", raceHtml);
        Assert.Contains("Time to first token, 48-token prompt", raceHtml);
        Assert.Contains("all-gather (in-process, 3 workers, 48 tokens)", raceHtml);
    }

    [Fact]
    public async Task Over_mpi_the_processes_summaries_come_back_checked_against_single()
    {
        var shown = await Kernel.SucceedAsync("#!prefill --transport mpi --method race --length 64 --partition 36,28 --name overMpi");
        Assert.Contains("Prefill race", string.Join("\n", TestKernel.Html(shown)));
        var race = Assert.IsType<PrefillRace>(TestKernel.ReturnValue(await Kernel.SucceedAsync("overMpi")));
        Assert.Equal([PrefillMethod.AllGather, PrefillMethod.Runahead], race.Summaries.Select(s => s.Method));
        Assert.All(race.Summaries, s => Assert.Equal("MPI", s.Transport));
        Assert.Equal([36, 28], race[PrefillMethod.Runahead]!.Chunks);
        Assert.All(race.Summaries, s => Assert.True(s.MaxLogitDifference <= 1e-3 && s.MaxCacheDifference <= 1e-3, $"{s.Method}: {s.MaxLogitDifference}, {s.MaxCacheDifference}"));
        Assert.Contains(race[PrefillMethod.Runahead]!.Timeline, e => e.Worker == 1);
    }

    [Fact]
    public async Task Search_finds_a_partition_draws_the_candidates_and_runs_with_the_best()
    {
        await Kernel.SucceedAsync("bool quick = true;");
        var shown = await Kernel.SucceedAsync("#!prefill --length 64 --search --name searched");
        var html = string.Join("\n", TestKernel.Html(shown));
        Assert.Contains("Quick mode", html);
        Assert.Contains("Partition search", html);
        Assert.Contains("predicted (cost model)", html);
        var search = Assert.IsType<PartitionSearchResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("searchedSearch")));
        Assert.All(search.Tried, c => Assert.Equal(64, c.Chunks.Sum()));
        Assert.True(search.Best.Measured <= search.Even.Measured);
        var summary = Assert.IsType<PrefillSummary>(TestKernel.ReturnValue(await Kernel.SucceedAsync("searched")));
        Assert.Equal(search.Best.Chunks, summary.Chunks);
        await Kernel.SucceedAsync("quick = false;");
    }

    [Fact]
    public async Task Bad_input_gives_one_clear_message_and_the_kernel_lives_on()
    {
        foreach (var (line, message) in new[]
        {
            ("#!prefill --length 64 --partition 40,20", "sums to 60 tokens but the prompt has 64"),
            ("#!prefill --workers 0", "--workers must be 1 to 64 (got 0)"),
            ("#!prefill --length 300", "the model's context holds 256"),
            ("#!prefill --length 300 --transport mpi", "the pretrained model's context holds 256"),
            ("#!prefill --length 64 --partition 20,20,24", "has 3 chunks for 2 workers"),
            ("#!prefill --method fastest", "--method is runahead, allgather, single or race (got 'fastest')"),
            ("#!prefill --model huge", "--model is pretrained or timing"),
            ("#!prefill --transport carrier-pigeon", "--transport is threads or mpi"),
            ("#!prefill --method allgather --partition 40,24 --length 64", "all-gather always uses even chunks"),
            ("#!prefill --search --partition 40,24 --length 64", "either --partition or --search"),
            ("#!prefill --search --transport mpi", "--search times candidates in threads"),
            ("#!prefill --method single --transport mpi", "--method single runs in one process"),
            ("#!prefill --partition 1,x", "--partition takes whole numbers separated by commas"),
        })
            Assert.Contains(message, TestKernel.SingleFailure(await Kernel.SubmitAsync(line)));
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }

    [Fact]
    public async Task The_csharp_equivalent_runs_in_the_kernel_and_gives_what_the_magic_gives()
    {
        var code = MagicTranslation.ToCSharp("#!prefill --method race --length 64 --partition 40,24 --name r64");
        Assert.Equal(
            "var r64Length = 64;\n" +
            "var r64Model = PrefillModels.Load(\"pretrained\", r64Length);\n" +
            "var r64Prompt = PrefillModels.Prompt(r64Model, r64Length);\n" +
            "var r64 = PrefillRuns.Race(r64Model, r64Prompt, 2, [40, 24]);\n" +
            "display(r64);", code);
        await Kernel.SucceedAsync("using EfficientML.Interactive;\nusing EfficientML.Prefill;\nbool quick = false;");
        var race = Assert.IsType<PrefillRace>(TestKernel.ReturnValue(await Kernel.SucceedAsync(code + "\nr64")));
        Assert.Equal([40, 24], race[PrefillMethod.Runahead]!.Chunks);

        var single = MagicTranslation.ToCSharp("#!prefill --method single --length 32 --name one");
        Assert.Contains("var one = PrefillRuns.Run(oneModel, onePrompt, new PrefillOptions { Workers = 2, Method = PrefillMethod.Single });", single);
        var summary = Assert.IsType<PrefillSummary>(TestKernel.ReturnValue(await Kernel.SucceedAsync(single + "\none")));
        Assert.Equal([32], summary.Chunks);

        var searched = MagicTranslation.ToCSharp("#!prefill --model timing --length 2048 --search");
        Assert.Contains("var prefillLength = PrefillRuns.Length(2048, quick);", searched);
        Assert.Contains("var prefillCosts = PartitionCostModel.Measure(prefillModel, prefillLength);", searched);
        Assert.Contains("PartitionSearch.Search(prefillCosts, prefillLength, 2, chunks => KvRunahead.MedianTime(prefillModel, prefillPrompt, " +
                        "new PrefillOptions { Workers = 2, Partition = chunks }, rounds: quick ? 1 : 3), levels: quick ? 1 : 3);", searched);
        Assert.Contains("Partition = prefillSearch.Best.Chunks", searched);

        var mpi = MagicTranslation.ToCSharp("#!prefill --transport mpi --model timing --length 1024 --partition 600,424 --name viaMpi");
        Assert.Equal(
            "var viaMpiLength = PrefillRuns.Length(1024, quick);\n" +
            "var viaMpi = PrefillRuns.Mpi(new MpiPrefillJob { Processes = 2, Model = \"timing\", Lengths = [viaMpiLength], Methods = [PrefillMethod.Runahead], " +
            "Shares = [0.5859375, 0.4140625] }).Summaries[0];\n" +
            "display(viaMpi);", mpi);
        Assert.Contains("Partitions.FromShares([600, 424], longRunLength)",
            MagicTranslation.ToCSharp("#!prefill --model timing --length 1024 --partition 600,424 --name longRun"));
    }
}
