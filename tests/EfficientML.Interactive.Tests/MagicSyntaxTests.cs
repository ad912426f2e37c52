namespace EfficientML.Interactive.Tests;

/// <summary>What the option parser refuses for every magic, before anything runs: each with one message that names the fix.</summary>
public class MagicSyntaxTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Theory]
    [InlineData("#!hyperclone --model --factor 2", "--model needs a value, but --factor follows it")]
    [InlineData("#!train --model m --steps", "--steps needs a value")]
    [InlineData("#!model --name u --untied false", "--untied is a switch and takes no value (got 'false')")]
    [InlineData("#!train foo --model m", "#!train does not take 'foo' on its own")]
    [InlineData("#!train --model m --steps 2 --steps 3", "--steps is given twice")]
    [InlineData("#!speculate --model m --prompt \"Call me", "A quotation mark is not closed")]
    [InlineData("#!speculate --model m --top-k []", "--top-k takes a whole number")]
    [InlineData("#!speculate --model m --top-k {}", "--top-k takes a whole number")]
    [InlineData("#!train --model m --steps [1,2]", "--steps takes a whole number")]
    public async Task A_malformed_magic_line_gets_one_message_and_runs_nothing(string line, string message)
    {
        await Kernel.SucceedAsync($"#!model --name m {TestKernel.TinyModelOptions}");
        var failure = TestKernel.SingleFailure(await Kernel.SubmitAsync(line));
        Assert.Contains(message, failure);
        Assert.DoesNotContain("   at ", failure);
        Assert.Null(Kernel.Session.Models.Get("model"));        // "--model --factor" did not grow a model called "model"
        Assert.Null(Kernel.Session.Models.Get("u"));            // "--untied false" built nothing
        await Kernel.SucceedAsync("1 + 1");
    }

    [Fact]
    public void Words_split_at_spaces_keep_quoted_text_and_mark_it_as_a_value()
    {
        var words = OptionSyntax.Words("#!speculate --prompt \"--not an option\" --tokens  5");
        Assert.Equal(["#!speculate", "--prompt", "--not an option", "--tokens", "5"], words.Select(w => w.Text));
        Assert.True(words[2].Quoted);
        Assert.False(words[3].Quoted);
    }

    [Fact]
    public async Task A_magic_never_replaces_a_variable_a_csharp_cell_made()
    {
        await Kernel.SucceedAsync("var race = \"my own race\";");
        await Kernel.SucceedAsync($"#!model --name c1 {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync($"#!model --name c2 {TestKernel.TinyModelOptions}");
        var failure = TestKernel.SingleFailure(await Kernel.SubmitAsync("#!race --challenger c1 --baseline c2 --steps 1 --batch 2 --block 16 --eval-every 0"));
        Assert.Contains("A C# variable 'race' already exists, made in a C# cell", failure);
        Assert.Contains("--race race2", failure);
        Assert.Equal("my own race", TestKernel.ReturnValue(await Kernel.SucceedAsync("race")));
        // Named explicitly it runs; run again under the same name it replaces its own earlier result.
        await Kernel.SucceedAsync("#!race --challenger c1 --baseline c2 --steps 1 --batch 2 --block 16 --eval-every 0 --race raceTwo");
        await Kernel.SucceedAsync("#!race --challenger c1 --baseline c2 --steps 1 --batch 2 --block 16 --eval-every 0 --race raceTwo");
    }
}
