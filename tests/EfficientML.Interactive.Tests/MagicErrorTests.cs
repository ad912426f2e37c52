namespace EfficientML.Interactive.Tests;

public class MagicErrorTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    [Theory]
    [InlineData("#!train --model nobody --steps 1", "No model named 'nobody'. Create it first with #!model --name nobody")]
    [InlineData("#!train --model errors --steps -5", "--steps must be 1 to 10,000,000 (got -5)")]
    [InlineData("#!train --model errors --steps ten", "--steps takes a whole number (1 to 10,000,000) (got 'ten')")]
    [InlineData("#!train --model errors --lr fast", "--lr takes a number (positive, at most 1e30) (got 'fast')")]
    [InlineData("#!train --model errors --block 64", "--block 64 is longer than the model's context of 32 tokens")]
    [InlineData("#!train --model errors --run 2run", "--run '2run' is not a usable C# variable name")]
    [InlineData("#!model --name errors2 --dim 30 --heads 4", "Dim (30) must be a multiple of Heads (4)")]
    [InlineData("#!model --name class", "--name 'class' is not a usable C# variable name")]
    [InlineData("#!model --name missing --from /no/such/model.safetensors", "--from: no file at '/no/such/model.safetensors'")]
    [InlineData("#!model --pretrained --layers 2", "describe a new model")]
    [InlineData("#!model --pretrained --from x.safetensors", "either --pretrained or --from PATH")]
    [InlineData("#!model --layers 0", "--layers must be positive (got 0)")]
    // What the kernel's own parser would answer with a coded diagnostic (DNI103) gets the magic's message.
    [InlineData("#!model --name p0 --bogus 1", "#!model has no option --bogus. Its options:")]
    [InlineData("#!train --model errors --steps --1", "--steps needs a value, but --1 follows it")]
    [InlineData("#!model --name p4\u3000--layers 1", "unusual space (U+3000)")]
    [InlineData("#!model --name p5 --layers 1 --", "#!model has no option --.")]
    [InlineData("#!train --model errors --run --", "--run needs a value, but -- follows it")]
    [InlineData("#!model --name p3 --from \"\"", "--from needs the path of a TinyGpt .safetensors file")]
    public async Task A_bad_option_gives_one_clear_error_and_the_kernel_keeps_working(string magic, string expected)
    {
        var kernel = fixture.Kernel;
        await kernel.SucceedAsync($"#!model --name errors {TestKernel.TinyModelOptions}");

        var message = TestKernel.SingleFailure(await kernel.SubmitAsync(magic));

        Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", message); // no stack trace
        Assert.Equal(2, TestKernel.ReturnValue(await kernel.SucceedAsync("1 + 1")));
        Assert.Equal(1, kernel.Model("errors").Config.Layers);
    }

    [Fact]
    public async Task A_file_that_is_not_a_model_gives_one_clear_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"efml-not-a-model-{Guid.NewGuid():N}.safetensors");
        await File.WriteAllTextAsync(path, "this is not a safetensors file");
        try
        {
            var message = TestKernel.SingleFailure(await fixture.Kernel.SubmitAsync($"#!model --name broken --from \"{path}\""));
            Assert.Contains(path, message);
            Assert.Equal(2, TestKernel.ReturnValue(await fixture.Kernel.SucceedAsync("1 + 1")));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
