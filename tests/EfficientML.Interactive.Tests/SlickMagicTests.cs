using EfficientML.Slick;

namespace EfficientML.Interactive.Tests;

public class SlickMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Fact]
    public async Task Kws_match_enrols_keywords_and_matches_a_clip_a_real_voice_prompt_and_a_stream()
    {
        await Kernel.SucceedAsync("var sk = new EfficientML.Slick.SlickModel(new EfficientML.Slick.SlickModelConfig());");
        var clip = string.Join("\n", TestKernel.Html(await Kernel.SucceedAsync("#!kws-match --model sk --keywords \"brave, bravo\" --text \"a brave whale\" --voice en-us+f2 --name m1")));
        Assert.Contains("&quot;a brave whale&quot; said by en-us+f2", clip);
        Assert.Contains("<audio", clip);
        Assert.Contains("b r eI v", clip);
        Assert.Contains("\"type\":\"heatmap\"", clip);
        var matches = Assert.IsAssignableFrom<IReadOnlyList<SlickMatch>>(TestKernel.ReturnValue(await Kernel.SucceedAsync("m1")));
        Assert.Equal(["brave", "bravo"], matches.Select(m => m.Keyword.Text));
        Assert.All(matches, m => Assert.InRange(m.Score, 0, 1));

        var real = string.Join("\n", TestKernel.Html(await Kernel.SucceedAsync("#!kws-match --model sk --keywords \"thank you\" --text \"thank you\" --voice real --name m2")));
        Assert.Contains("said by Allison (real)", real);

        var stream = string.Join("\n", TestKernel.Html(await Kernel.SucceedAsync("#!kws-match --model sk --keywords brave --stream 8 --threshold 0.9 --name s1")));
        Assert.Contains("Scanning 8 s", stream);
        var scan = Assert.IsType<SlickScan>(TestKernel.ReturnValue(await Kernel.SucceedAsync("s1")));
        Assert.NotNull(scan.Score);
    }

    [Fact]
    public async Task Bad_input_gives_one_clear_message()
    {
        await Kernel.SucceedAsync("var sk2 = new EfficientML.Slick.SlickModel(new EfficientML.Slick.SlickModelConfig { MaxKeywordLength = 6 });");
        foreach (var (line, message) in new[]
        {
            ("#!kws-match --model sk2 --text hello", "#!kws-match needs --keywords"),
            ("#!kws-match --model sk2 --keywords brave", "needs either --text \"PHRASE\""),
            ("#!kws-match --model sk2 --keywords brave --text hi --stream 10", "not both"),
            ("#!kws-match --model sk2 --keywords \"brave, \" --text hi", "The keyword is empty"),
            ("#!kws-match --model sk2 --keywords \"héllo\" --text hi", "cannot be read as English: 'é'"),
            ("#!kws-match --model sk2 --keywords \"hey computer\" --text hi", "more than the 6 this model reads"),
            ("#!kws-match --model sk2 --keywords \"brave, Brave\" --text hi", "names a keyword twice"),
            ("#!kws-match --model nothing --keywords brave --text hi", "No SLiCK model named 'nothing'"),
            ("#!kws-match --keywords brave --text hi", "No SLiCK model named 'slick'"),
            ("#!kws-match --model sk2 --keywords brave --text hi --voice klingon", "is not an espeak-ng voice"),
            ("#!kws-match --model sk2 --keywords brave --text hi --voice en-us+zz9", "'zz9' is not a variant"),
            ("#!kws-match --model sk2 --keywords brave --text \"the whale\" --voice real", "The real voice never says \"the whale\""),
            ("#!kws-match --model sk2 --keywords brave --stream 2", "--stream must be 5 to 600"),
            ("#!kws-match --model sk2 --keywords brave --stream 10 --threshold 1", "--threshold must be"),
            ("#!kws-match --model sk2 --keywords brave --stream 10 --voice real", "--voice goes with --text"),
        })
            Assert.Contains(message, TestKernel.SingleFailure(await Kernel.SubmitAsync(line)));
    }

    [Fact]
    public void The_csharp_equivalent_enrols_and_matches_or_scans()
    {
        var clip = Scripting.MagicTranslation.ToCSharp("#!kws-match --model slick --keywords \"Brave, bravo\" --text \"a brave whale\" --voice en-us+f2 --seed 3");
        Assert.StartsWith("var kwsMatchSpotter = new SlickSpotter(slick);\nvar kwsMatchKeywords = new[] { \"brave\", \"bravo\" }.Select(kwsMatchSpotter.Enrol).ToList();", clip);
        Assert.Contains("Synthesize(\"a brave whale\", new SynthesisVoice { Voice = \"en-us\", Variant = \"f2\" }, seed: 3)", clip);
        Assert.Contains("var kwsMatch = kwsMatchSpotter.Match(kwsMatchAudio, kwsMatchKeywords);", clip);
        var real = Scripting.MagicTranslation.ToCSharp("#!kws-match --keywords \"thank you\" --text \"thank you\" --voice real --name r");
        Assert.Contains("SlickRealVoice.Load().Clips.First(c => c.Text == \"thank you\")", real);
        var stream = Scripting.MagicTranslation.ToCSharp("#!kws-match --model m --keywords brave --stream 30 --threshold 0.7 --name sc");
        Assert.Contains("SlickStream.Build(new SlickDatasetOptions(), SlickPhrases.Build(), \"brave\", seconds: 30", stream);
        Assert.Contains("var sc = scSpotter.Scan(scRecording.Samples, scKeywords, scOptions, scRecording.Events);", stream);
        Assert.EndsWith("SlickMatchHtml.Stream(scRecording, sc, scOptions).DisplayAs(\"text/html\");", stream);
    }
}
