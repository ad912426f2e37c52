using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Events;

namespace EfficientML.Interactive.Tests;

public class HoverHelpTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    [Theory]
    [InlineData("#!environment", "device")]
    [InlineData("#!model --pretrained", "Creates a TinyGpt")]
    [InlineData("#!train --steps 10", "Moby-Dick")]
    [InlineData("#!hyperclone --factor 2", "HyperCloning.Expand(model, 2, new HyperCloneOptions")]
    [InlineData("#!subclone --width 64", "Subcloning.Shrink(model, new SubcloneOptions")]
    [InlineData("#!race --steps 10", "TrainingRace.Run(challenger, baseline")]
    [InlineData("#!cluster --bits 3", "ClusteringFineTuning.FineTune(model.Copy(), corpus, new DkmOptions { Bits = 3 }, options)")]
    [InlineData("#!route --theta 0.5", "RoutingFineTuning.FineTune(RoutedGpt.FromDense(model, calibration, options), corpus, options, training)")]
    [InlineData("#!speculate --gamma 4", "new SpeculativeDecoder(model, new SelfDrafter(k, adapters)).Generate(prompt, new SpeculationOptions { Gamma = 4 })")]
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
    [InlineData("#!hyperclone --noise-db 10", "signal-to-noise ratio in dB")]
    [InlineData("#!subclone --calibration-tokens 4x32", "BATCHxLENGTH")]
    [InlineData("#!race --steps 10", "Optimizer steps")]
    [InlineData("#!cluster --tau 1e-5", "Temperature τ of the soft assignment")]
    [InlineData("#!cluster --steps 10", "Optimizer steps (default 100)")]
    [InlineData("#!cluster --lr 1e-4", "(default 0.0003)")]
    [InlineData("#!cluster --warmup 5", "(default 10, at most a tenth of --steps)")]
    [InlineData("#!cluster --edkm", "unique rows")]
    [InlineData("#!cluster --no-finetune", "without fine-tuning")]
    [InlineData("#!route --steps 10", "Optimizer steps (default 100)")]
    [InlineData("#!route --lr 1e-4", "(default 0.0005)")]
    [InlineData("#!route --batch 8", "(default 16)")]
    [InlineData("#!route --block 128", "(default 256, or the context if smaller)")]
    [InlineData("#!route --experts 0.5,1", "(default 0.25,0.5,0.75,1)")]
    [InlineData("#!route --tolerance 0.2", "tolerance in nats")]
    [InlineData("#!route --theta 0.3", "(default 0.5)")]
    [InlineData("#!route --thetas 0,1", "(default 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1)")]
    [InlineData("#!route --router-hidden 0", "(default 32)")]
    [InlineData("#!route --baseline", "elastic (Flextron-style)")]
    [InlineData("#!route --text abc", "Moby-Dick validation split")]
    [InlineData("#!speculate --model m", "(default 'model')")]
    [InlineData("#!speculate --prompt abc", "Moby-Dick validation split")]
    [InlineData("#!speculate --tokens 50", "(default 200)")]
    [InlineData("#!speculate --draft early-exit", "(default 'm2r2')")]
    [InlineData("#!speculate --k 2", "(default: half the layers")]
    [InlineData("#!speculate --gamma 2", "(default 4)")]
    [InlineData("#!speculate --adaptive", "(default: off)")]
    [InlineData("#!speculate --max-gamma 6", "(default 8, or --gamma if larger)")]
    [InlineData("#!speculate --temperature 0.8", "(default 0)")]
    [InlineData("#!speculate --top-k 40", "(default: all)")]
    [InlineData("#!speculate --seed 2", "(default 1)")]
    [InlineData("#!speculate --steps 50", "(default 600, 40 in quick mode")]
    [InlineData("#!speculate --name s", "(default 'speculation')")]
    public async Task Hovering_an_option_shows_its_description(string code, string expected)
    {
        var hover = await HoverAsync(code, code.IndexOf("--", StringComparison.Ordinal) + 3);
        Assert.Contains(expected, hover);
    }

    [Theory]
    [InlineData("#!hyperclone")]
    [InlineData("#!subclone")]
    [InlineData("#!race")]
    [InlineData("#!train")]
    [InlineData("#!cluster")]
    [InlineData("#!route")]
    [InlineData("#!speculate")]
    public void Every_option_of_the_technique_magics_says_its_default_and_the_magic_names_its_csharp_call(string name)
    {
        var directive = fixture.Kernel.Root.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().Single(d => d.Name == name);
        Assert.Contains("C#:", directive.Description);
        Assert.NotEmpty(directive.Parameters);
        Assert.All(directive.Parameters, p => Assert.Matches("default|required", p.Description));
    }

    async Task<string> HoverAsync(string code, int column)
    {
        var result = await fixture.Kernel.Root.SendAsync(new RequestHoverText(code, new LinePosition(0, column)));
        return string.Join("\n", result.Events.OfType<HoverTextProduced>().Single().Content.Select(c => c.Value));
    }
}
