using EfficientML.Core;
using EfficientML.Text;
using TorchSharp;

namespace EfficientML.Tests;

public class TextTests
{
    [Fact]
    public void Bytes_round_trip_any_text()
    {
        const string text = "Call me Ishmael — naïve whale 🐋";
        var tokens = ByteTokenizer.Instance.Encode(text);
        Assert.All(tokens, t => Assert.InRange(t, 0, 255));
        Assert.Equal(text, ByteTokenizer.Instance.Decode(tokens));
    }

    [Fact]
    public void The_streaming_decoder_holds_back_half_characters()
    {
        var decoder = ByteTokenizer.Streaming();
        var pieces = ByteTokenizer.Instance.Encode("a—b").Select(decoder.Push).ToList();
        Assert.Equal(new[] { "a", "", "", "—", "b" }, pieces);
    }

    [Fact]
    public void Gpt2_byte_pair_encoding_gives_the_known_ids()
    {
        var gpt2 = Tokenizers.ByName("gpt2");
        Assert.Equal(new[] { 15496, 995 }, gpt2.Encode("Hello world"));
        Assert.Equal("Hello world", gpt2.Decode([15496, 995]));
        Assert.Equal(50257, gpt2.VocabSize);
        Assert.Contains("Use 'byte' or 'gpt2'", Assert.Throws<InvalidSettingsException>(() => Tokenizers.ByName("sentencepiece")).Message);
    }

    [Fact]
    public void A_tinygpt_trains_on_gpt2_tokens_too()
    {
        var text = TextCorpus.ReadMobyDick()[..20_000];
        using var corpus = TextCorpus.FromText("moby-dick-start", text, Gpt2Tokenizer.Instance);
        using var model = new EfficientML.Models.TinyGpt(new EfficientML.Models.TinyGptConfig
        {
            VocabSize = corpus.Tokenizer.VocabSize, ContextLength = 32, Layers = 1, Dim = 16, Heads = 2, KvHeads = 2, MlpDim = 32,
        }, seed: 1);
        var run = EfficientML.Models.LanguageModelTraining.Train(model, corpus,
            new TrainingOptions { Steps = 3, BatchSize = 2, BlockSize = 32, WarmupSteps = 1, EvalEvery = 0, EvalBatches = 1 });
        Assert.Equal(TrainingOutcome.Completed, run.Outcome);
        Assert.InRange(run.Steps[0].Loss, Math.Log(50257) - 1, Math.Log(50257) + 1); // starts near uniform over the vocabulary
        var continuation = model.Generate(corpus.Tokenizer.Encode("Call me"), new EfficientML.Models.GenerationOptions { MaxNewTokens = 3 });
        Assert.All(continuation, t => Assert.InRange(t, 0, 50256));
    }

    [Fact]
    public void Moby_dick_splits_the_same_way_every_time_at_a_paragraph_and_loses_nothing()
    {
        var text = TextCorpus.ReadMobyDick();
        using var a = TextCorpus.MobyDick();
        using var b = TextCorpus.MobyDick();
        Assert.Equal(a.TrainText, b.TrainText);
        Assert.Equal(text, a.TrainText + a.ValidationText);
        Assert.EndsWith("\n\n", a.TrainText);
        Assert.InRange(a.ValidationText.Length / (double)text.Length, 0.09, 0.11);
        Assert.StartsWith("CHAPTER 1. Loomings.", text);
        Assert.Equal(a.Train.shape[0], System.Text.Encoding.UTF8.GetByteCount(a.TrainText));
    }

    [Fact]
    public void Batches_pair_each_window_with_the_next_tokens()
    {
        using var corpus = TextCorpus.MobyDick();
        using var g = new torch.Generator(5);
        var (x, y) = corpus.SampleBatch(Split.Train, 4, 16, g);
        Assert.Equal(new long[] { 4, 16 }, x.shape);
        Assert.True(TestModels.Same(x[.., 1..], y[.., ..^1]));
        var windows = corpus.EvaluationBatches(Split.Validation, 8, 64, maxBatches: 2).ToList();
        Assert.Equal(2, windows.Count);
        Assert.True(TestModels.Same(windows[0].Inputs[1], corpus.Validation[64..128]));   // non-overlapping, in order
    }

    [Fact]
    public void Too_short_or_badly_split_text_is_refused_clearly()
    {
        Assert.Contains("too short", Assert.Throws<InvalidSettingsException>(() => TextCorpus.FromText("x", "tiny", ByteTokenizer.Instance)).Message);
        Assert.Contains("strictly between 0 and 1",
            Assert.Throws<InvalidSettingsException>(() => TextCorpus.FromText("x", new string('a', 500), ByteTokenizer.Instance, 1.5)).Message);
    }
}

public class ValidationExcerptTests
{
    [Fact]
    public void Excerpts_keep_words_whole_and_start_after_a_space_inside_the_text()
    {
        using var corpus = EfficientML.Text.TextCorpus.FromText("t", string.Join(" ", Enumerable.Repeat("alpha beta gamma", 40)), EfficientML.Text.ByteTokenizer.Instance, 0.5);
        var start = corpus.ValidationExcerpt(0, 20);
        Assert.True(start.Length <= 20 && start.Length > 10);
        Assert.True(corpus.ValidationText.StartsWith(start + " ", StringComparison.Ordinal), $"'{start}' should end before a space");
        var inside = corpus.ValidationExcerpt(3, 30);
        Assert.True(inside.StartsWith("beta", StringComparison.Ordinal) || inside.StartsWith("gamma", StringComparison.Ordinal) || inside.StartsWith("alpha", StringComparison.Ordinal), $"'{inside}' should start at a word");
        Assert.DoesNotContain("  ", inside);
        Assert.Throws<InvalidSettingsException>(() => corpus.ValidationExcerpt(0, 0));
    }
}
