using System.Globalization;
using System.Text.RegularExpressions;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;

namespace EfficientML.Tests;

public class PretrainedModelTests
{
    [Fact]
    public void The_shipped_model_has_the_recipe_configuration_and_fits_the_size_budget()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        Assert.Equal(PretrainedModels.TinyMobyConfig, model.Config);
        Assert.True(model.Config.Layers >= 6, "speculative decoding needs a cheap draft from the first layers");
        Assert.InRange(model.ParameterCount, 1_000_000, 5_000_000);
        Assert.True(new FileInfo(PretrainedModels.TinyMobyPath).Length <= 8 * 1024 * 1024, "the file must stay under 8 MB");
        Assert.Equal("byte", TinyGpt.ReadMetadata(PretrainedModels.TinyMobyPath)["tokenizer"]);
    }

    [Fact]
    public void Its_validation_loss_is_the_figure_its_readme_and_metadata_state()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        using var corpus = TextCorpus.MobyDick();
        var bitsPerByte = LanguageModelTraining.Evaluate(model, corpus) / Math.Log(2);

        var stored = double.Parse(TinyGpt.ReadMetadata(PretrainedModels.TinyMobyPath)["validation_bits_per_byte"], CultureInfo.InvariantCulture);
        Assert.Equal(stored, bitsPerByte, 3);

        var readme = File.ReadAllText(ProjectPaths.Dataset("models", "README.md"));
        var quoted = Regex.Match(readme, @"validation loss[^\n]*?(\d\.\d{3,4}) bits per byte");
        Assert.True(quoted.Success, "the README states the validation loss in bits per byte");
        Assert.Equal(double.Parse(quoted.Groups[1].Value, CultureInfo.InvariantCulture), bitsPerByte, 3);
    }

    [Fact]
    public void It_writes_recognisable_english()
    {
        using var model = PretrainedModels.LoadTinyMoby();
        var text = ByteTokenizer.Instance.Decode(model.Generate(ByteTokenizer.Instance.Encode("The whale "), new GenerationOptions { MaxNewTokens = 200 }));
        var words = Regex.Matches(text.ToLowerInvariant(), "[a-z]+").Select(m => m.Value).ToList();
        string[] common = ["the", "and", "of", "a", "to", "in", "his", "that", "it", "was", "he", "with", "as", "all", "but", "is", "for", "whale", "sea"];
        Assert.True(words.Count(common.Contains) >= 5, $"expected common English words in: {text}");
    }
}
