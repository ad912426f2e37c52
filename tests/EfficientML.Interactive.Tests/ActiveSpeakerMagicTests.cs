using EfficientML.ActiveSpeaker;

namespace EfficientML.Interactive.Tests;

public class ActiveSpeakerMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Asd_grid_trains_the_grid_and_asd_streams_a_new_scene_through_one_of_its_models()
    {
        await Kernel.SucceedAsync("bool quick = true;");
        var trained = await Kernel.SucceedAsync("#!asd-grid --past 0,6 --future 0,2 --steps 15 --encoder-steps 15 --scenes 4 --report grid");
        var html = string.Join("\n", TestKernel.Html(trained));
        Assert.Contains("Quick mode", html);
        Assert.Contains("Context grid", html);
        Assert.Contains("context matters", html);                        // which one, the training decides
        Assert.Contains("\"type\":\"heatmap\"", html);
        var grid = Assert.IsType<ContextGridResult>(TestKernel.ReturnValue(await Kernel.SucceedAsync("grid")));
        Assert.Equal(5, grid.Points.Count);
        Assert.Equal(15, grid.At(6, 2).Run.Steps.Count);
        Assert.True(grid.At(6, 2).StateBytes > grid.At(0, 0).StateBytes);

        await Kernel.SucceedAsync("var detector = grid.At(6, 2).Model;");
        var streamed = await Kernel.SucceedAsync("#!asd --model detector --seconds 4 --faces 2 --seed 3 --name run");
        var shown = string.Join("\n", TestKernel.Html(streamed));
        Assert.Contains("streamed over a new 4 s scene", shown);
        Assert.Contains("each decision 80 ms late", shown);
        var run = Assert.IsType<SpeakerRun>(TestKernel.ReturnValue(await Kernel.SucceedAsync("run")));
        Assert.Equal(2, run.Probabilities.Count);
        Assert.Equal(100, run.Probabilities[0].Length);

        foreach (var (line, message) in new[]
        {
            ("#!asd", "#!asd needs --model NAME"),
            ("#!asd --model nothing", "No active speaker detector named 'nothing'"),
            ("#!asd --model grid", "'grid' is a ContextGridResult, not a ActiveSpeakerModel"),
            ("#!asd --model detector --faces 0", "--faces must be 1 to 8"),
            ("#!asd --model detector --seconds 1", "--seconds must be 2 to 120"),
            ("#!asd-grid --past -1", "--past must be 0 to 1,000"),
            ("#!asd-grid --future 2,2", "--future lists a context twice"),
            ("#!asd-grid --past 0;4", "--past takes whole numbers separated by commas"),
        })
            Assert.Contains(message, TestKernel.SingleFailure(await Kernel.SubmitAsync(line)));
    }
}
