using EfficientML.Cloning;
using EfficientML.Models;

namespace EfficientML.Interactive.Tests;

public class SubcloneMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    /// <summary>Three blocks of four heads four wide: room to drop a block and keep whole heads.</summary>
    const string ThreeBlocks = "--layers 3 --dim 16 --heads 4 --mlp 32 --context 32";

    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Subclone_shares_a_narrower_shallower_model_and_the_report()
    {
        await Kernel.SucceedAsync($"#!model --name big {ThreeBlocks}");
        var result = await Kernel.SucceedAsync("#!subclone --model big --width 8 --layers 2 --calibration-tokens 4x32");

        var small = Kernel.Model("big_sub");
        Assert.Equal(new TinyGptConfig { Layers = 2, Dim = 8, Heads = 2, KvHeads = 2, MlpDim = 16, ContextLength = 32 }, small.Config);
        Assert.Same(small, TestKernel.ReturnValue(await Kernel.SucceedAsync("big_sub")));
        var report = Assert.IsType<SubcloneReport>(TestKernel.ReturnValue(await Kernel.SucceedAsync("subcloneReport")));
        Assert.Equal(new[] { 0, 2 }, report.KeptLayers);
        Assert.Equal(8, report.KeptDims.Length);
        Assert.True(report.Rescaled);
        Assert.True(double.IsFinite(report.LossBeforeTraining));

        var html = Assert.Single(TestKernel.Html(result));
        Assert.Contains("efml-subclone-report", html);
        Assert.Contains("kept d′ = 8 of 16", html);
    }

    [Fact]
    public async Task Subclone_keeps_the_blocks_it_is_told_and_can_skip_rescaling()
    {
        await Kernel.SucceedAsync($"#!model --name deep {ThreeBlocks}");
        await Kernel.SucceedAsync("#!subclone --model deep --keep 0,1 --mlp 24 --no-rescale --name shallow --report shallowReport --calibration-tokens 2x16 --seed 3");
        Assert.Equal(2, Kernel.Model("shallow").Config.Layers);
        Assert.Equal(24, Kernel.Model("shallow").Config.MlpDim);
        var report = Assert.IsType<SubcloneReport>(TestKernel.ReturnValue(await Kernel.SucceedAsync("shallowReport")));
        Assert.Equal(new[] { 0, 1 }, report.KeptLayers);
        Assert.False(report.Rescaled);
    }

    [Theory]
    [InlineData("--width 6", "Width 6 is not a multiple of the head width 4")]
    [InlineData("--width 32", "between 1 and the model's 16 (got 32)")]
    [InlineData("--layers 5", "Cannot keep 5 layers of a model that has 3")]
    [InlineData("--keep 0,9", "--keep must be 0 to 2 (got 9): the model has blocks 0 to 2")]
    [InlineData("--keep 0,x", "--keep takes whole numbers separated by commas, without spaces or brackets (got '0,x')")]
    [InlineData("--layers 2 --keep 0,1", "Use either --layers L")]
    [InlineData("--width eight", "--width takes a whole number (positive) (got 'eight')")]
    [InlineData("--calibration-tokens 16", "--calibration-tokens takes BATCHxLENGTH")]
    [InlineData("--calibration-tokens 4x64", "--calibration-tokens (length) must be 2 to 32 (got 64): windows fit in the model's context of 32 tokens")]
    [InlineData("--model nobody", "No model named 'nobody'")]
    public async Task A_bad_subclone_option_gives_one_clear_error_and_the_kernel_keeps_working(string options, string expected)
    {
        await Kernel.SucceedAsync($"#!model --name wide {ThreeBlocks}");
        var message = TestKernel.SingleFailure(await Kernel.SubmitAsync(options.StartsWith("--model") ? $"#!subclone {options}" : $"#!subclone --model wide {options}"));
        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message);
        Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
    }
}
