using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;

namespace EfficientML.Interactive.Tests;

public class HoverHelpTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    [Theory]
    [InlineData("#!environment", "device")]
    [InlineData("#!model --pretrained", "Creates a TinyGpt")]
    [InlineData("#!train --steps 10", "Moby-Dick")]
    public async Task Hovering_a_magic_shows_its_help_and_options(string code, string expected)
    {
        var hover = await HoverAsync(code, 3);
        Assert.Contains(expected, hover);
        if (code.Contains("--"))
            Assert.Contains(code.Split(' ')[1], hover); // the options table lists the option
    }

    [Theory]
    [InlineData("#!train --steps 10", "Optimizer steps")]
    [InlineData("#!model --kv-heads 2", "grouped-query")]
    public async Task Hovering_an_option_shows_its_description(string code, string expected)
    {
        var hover = await HoverAsync(code, code.IndexOf("--", StringComparison.Ordinal) + 3);
        Assert.Contains(expected, hover);
    }

    async Task<string> HoverAsync(string code, int column)
    {
        var result = await fixture.Kernel.Root.SendAsync(new RequestHoverText(code, new LinePosition(0, column)));
        return string.Join("\n", result.Events.OfType<HoverTextProduced>().Single().Content.Select(c => c.Value));
    }
}
