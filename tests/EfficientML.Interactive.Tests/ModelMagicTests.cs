using EfficientML.Models;

namespace EfficientML.Interactive.Tests;

public class ModelMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Model_magic_creates_a_model_and_shares_the_same_object_with_csharp()
    {
        var result = await Kernel.SucceedAsync($"#!model --name shared {TestKernel.TinyModelOptions} --kv-heads 1 --untied --seed 7");
        var model = Kernel.Model("shared");
        Assert.Equal(new TinyGptConfig { Layers = 1, Dim = 16, Heads = 2, KvHeads = 1, MlpDim = 32, ContextLength = 32, TiedHead = false }, model.Config);
        Assert.Contains("TinyGpt", Assert.Single(TestKernel.Html(result)));

        var fromCode = TestKernel.ReturnValue(await Kernel.SucceedAsync("shared"));
        Assert.Same(model, fromCode);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_model_as_the_csharp_call()
    {
        await Kernel.SucceedAsync($"#!model --name seeded {TestKernel.TinyModelOptions} --seed 42");
        using var direct = new TinyGpt(TestKernel.TinyConfig, seed: 42);
        var fromMagic = Kernel.Model("seeded");
        Assert.True(direct.wte.weight!.eq(fromMagic.wte.weight!).all().item<bool>());
    }

    [Fact]
    public async Task Model_magic_without_options_shows_the_model_it_already_has()
    {
        await Kernel.SucceedAsync($"#!model --name again {TestKernel.TinyModelOptions}");
        var first = Kernel.Model("again");
        await Kernel.SucceedAsync("#!model --name again");
        Assert.Same(first, Kernel.Model("again"));
    }

    [Fact]
    public async Task Model_magic_loads_a_saved_model_with_from()
    {
        var path = Path.Combine(Path.GetTempPath(), $"efml-interactive-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var saved = new TinyGpt(new TinyGptConfig { Layers = 2, Dim = 16, Heads = 4, MlpDim = 48, ContextLength = 24 }, seed: 3))
                saved.Save(path);
            await Kernel.SucceedAsync($"#!model --name loaded --from \"{path}\"");
            Assert.Equal(2, Kernel.Model("loaded").Config.Layers);
            Assert.Equal(24, Kernel.Model("loaded").Config.ContextLength);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Model_magic_loads_the_pretrained_model_or_says_how_to_restore_it()
    {
        var result = await Kernel.SubmitAsync("#!model --name pretrained --pretrained");
        if (File.Exists(PretrainedModels.TinyMobyPath))
        {
            TestKernel.AssertSucceeded(result);
            Assert.Equal(PretrainedModels.TinyMobyConfig, Kernel.Model("pretrained").Config);
        }
        else
        {
            Assert.Contains("pretrained model is missing", TestKernel.SingleFailure(result));
        }
    }

    [Fact]
    public async Task Model_names_complete_after_the_model_option()
    {
        await Kernel.SucceedAsync($"#!model --name completable {TestKernel.TinyModelOptions}");
        await Kernel.SucceedAsync("var fromCode = new EfficientML.Models.TinyGpt(new EfficientML.Models.TinyGptConfig { Layers = 1, Dim = 16, Heads = 2, KvHeads = 2, MlpDim = 32, ContextLength = 32 });");
        var code = "#!train --model ";
        var result = await Kernel.Root.SendAsync(new Microsoft.DotNet.Interactive.Commands.RequestCompletions(code, new Microsoft.DotNet.Interactive.LinePosition(0, code.Length)));
        var names = result.Events.OfType<Microsoft.DotNet.Interactive.Events.CompletionsProduced>().Single().Completions.Select(c => c.DisplayText).ToList();
        Assert.Contains("completable", names);
        Assert.Contains("fromCode", names);
    }
}
