namespace EfficientML.Fuzz;

/// <summary>The checker itself: deliberately bad results must be flagged, clean ones must not (a harness that cannot fail finds nothing).</summary>
public class CheckerTests
{
    const string Clean = "--steps must be 1 to 10,000,000 (got 0): the library's limit, e.g. --steps 200.";

    [Theory]
    [InlineData("Boom.\n   at EfficientML.Interactive.TrainMagic.RunAsync(TrainCommand c) in /src/TrainMagic.cs:line 42", "message: stack frame")]
    [InlineData("shape mismatch\nframe #3: at::native::matmul (0x7f00 in libtorch_cpu.so)", "message: native frame")]
    [InlineData("System.InvalidOperationException: Sequence contains no elements", "message: .NET type name")]
    [InlineData("An item with the same key has already been added. Key: m", "message: .NET message")]
    [InlineData("Load model failed:/onnxruntime_src/onnxruntime/core/graph/graph.cc:1587 void onnxruntime::Graph::InitializeStateFromModelFileGraphProto()", "message: native frame")]
    [InlineData("ONNX Runtime cannot load 'x.onnx': [ErrorCode:InvalidProtobuf] Protobuf parsing failed.", "message: native error code")]
    [InlineData("A race compares models of the same shape; got TinyGptConfig { VocabSize = 256, Layers = 1 }", "message: .NET record text")]
    [InlineData("'x.onnx' is not valid JSON: 'x' is an invalid start of a value. Path: $ | LineNumber: 0 | BytePositionInLine: 0.", "message: .NET message")]
    [InlineData("Value cannot be null. (Parameter 'path')", "message: parameter suffix")]
    [InlineData("DNI103: Unrecognized parameter name '--bogus'", "message: parser code")]
    [InlineData("Object reference not set to an instance of an object.", "message: .NET message")]
    [InlineData("An element of type 'String' cannot be converted to a 'Int32'.", "message: .NET message")]
    [InlineData("", "message: empty")]
    [InlineData(Clean, null)]
    [InlineData("No RepCnn named 'x'. Make one in C#, e.g. var x = new RepCnn(new RepCnnConfig { Classes = 16 }).", null)]
    [InlineData("No model named 'x'. Create it first with #!model --name x.", null)]
    public void Message_rules_flag_what_a_user_must_not_see(string message, string? expected)
    {
        var classes = Checks.MessageProblems(message).Select(p => p.Class).ToList();
        if (expected is null) Assert.Empty(classes);
        else Assert.Contains(expected, classes);
    }

    [Fact]
    public void A_fake_magic_failure_with_a_stack_trace_is_flagged()
    {
        var outcome = new Checks.SubmissionOutcome
        {
            Completed = true,
            Failures = ["System.NullReferenceException: Object reference not set to an instance of an object.\n   at EfficientML.Interactive.ModelMagic.Load(String from)"],
        };
        var classes = Checks.Submission("#!model", "#!model --from x", outcome).Select(v => v.Class).ToList();
        Assert.Contains("message: stack frame", classes);
        Assert.Contains("message: .NET type name", classes);
        Assert.Contains("message: .NET message", classes);
    }

    [Fact]
    public void Every_submission_rule_can_fail()
    {
        IReadOnlyList<string> Classes(Checks.SubmissionOutcome o) => Checks.Submission("#!train", "#!train", o).Select(v => v.Class).ToList();
        Assert.Empty(Classes(new Checks.SubmissionOutcome { Completed = true }));
        Assert.Empty(Classes(new Checks.SubmissionOutcome { Completed = true, Failures = [Clean] }));
        Assert.Contains("hang", Classes(new Checks.SubmissionOutcome { TimedOut = true }));
        Assert.Contains("kernel blocked", Classes(new Checks.SubmissionOutcome { Completed = true, ProbeOk = false }));
        Assert.Contains("memory", Classes(new Checks.SubmissionOutcome { Completed = true, PeakRssBytes = 2_000, MemoryBudgetBytes = 1_000 }));
        Assert.Contains("state after failure", Classes(new Checks.SubmissionOutcome { Completed = true, Failures = [Clean], NewVariables = ["run"] }));
        Assert.Empty(Classes(new Checks.SubmissionOutcome { Completed = true, Failures = ["Training 'm' diverged. Stopped at step 3: the loss became NaN."], NewVariables = ["run"] }));
        Assert.Empty(Classes(new Checks.SubmissionOutcome { Completed = true, Failures = ["(1,16): error DNI202: Value 'class' not found in kernel csharp"] }));
        Assert.Contains("message: parser code", Classes(new Checks.SubmissionOutcome { Completed = true, Failures = ["(1,19): error DNI103: Unrecognized parameter name '--bogus'"] }));
        Assert.Contains("state after failure", Classes(new Checks.SubmissionOutcome { Completed = true, Failures = [Clean], NewModels = ["x"] }));
        Assert.Empty(Classes(new Checks.SubmissionOutcome { Completed = true, NewVariables = ["run"] })); // a success may add variables
        Assert.Contains("crash", Classes(new Checks.SubmissionOutcome { Crashed = true }));
        Assert.Contains("busy after end", Classes(new Checks.SubmissionOutcome { Completed = true, BusyAfterEnd = "still using 100% of a core" }));
    }

    [Theory]
    [InlineData("VmRSS:\t  123456 kB", 123456)]
    [InlineData("VmRSS:\t12345678 kB", 12345678)]       // ten million kB and more: no space between the tab and the number
    [InlineData("MemAvailable:   23456789 kB", 23456789)]
    public void Memory_lines_of_proc_are_read_at_every_size(string line, long kilobytes) =>
        Assert.Equal(kilobytes, ProcessStats.Kilobytes(line));

    [Fact]
    public void Every_file_rule_can_fail()
    {
        IReadOnlyList<string> Classes(FileLabel label, string outcome, string message = "") =>
            Checks.File("wav", "x.wav", label, new Checks.FileOutcome(outcome, outcome == "failed" ? "System.IO.IOException" : "InvalidFileException", message)).Select(v => v.Class).ToList();
        Assert.Empty(Classes(FileLabel.Detectable, "refused", "'x.wav' is not a WAV file this reader understands: it has no 'data' chunk."));
        Assert.Empty(Classes(FileLabel.Undetectable, "loaded"));
        Assert.Empty(Classes(FileLabel.Valid, "loaded"));
        Assert.Contains("loaded a detectable lie", Classes(FileLabel.Detectable, "loaded"));
        Assert.Contains("refused a valid file", Classes(FileLabel.Valid, "refused", "no"));
        Assert.Contains("failed (non-library exception)", Classes(FileLabel.Undetectable, "failed", "Stream was too long."));
        Assert.Contains("message: stack frame", Classes(FileLabel.Detectable, "refused", "bad\n   at X.Y()"));
    }

    [Fact]
    public void The_generator_is_deterministic_and_covers_every_magic()
    {
        var catalog = System.Text.Json.Nodes.JsonNode.Parse("""
            [{"name":"#!model","parameters":[{"name":"--name","flag":false},{"name":"--untied","flag":true},{"name":"--from","flag":false}]},
             {"name":"#!train","parameters":[{"name":"--model","flag":false},{"name":"--steps","flag":false}]},
             {"name":"#!new","parameters":[{"name":"--x","flag":false}]}]
            """)!.AsArray();
        var paths = new FuzzPaths("/tmp/f", "/tmp/f/ok.safetensors", ["/tmp/f/bad.safetensors"], "/tmp/f/empty", "/tmp/f/pipe", "/tmp/f/missing");
        var a = new MagicGenerator(catalog, paths, 7);
        var b = new MagicGenerator(catalog, paths, 7);
        var lines = Enumerable.Range(0, 300).Select(_ => a.Next()).ToList();
        Assert.Equal(lines.Select(l => l.Line), Enumerable.Range(0, 300).Select(_ => b.Next().Line));
        Assert.Equal(new[] { "#!model", "#!new", "#!train" }, lines.Select(l => l.Magic).Distinct().Order());
        Assert.Contains(lines, l => l.Kind == "plausible");
        Assert.Contains(lines, l => l.Kind.Contains("missing value"));
        Assert.Contains(lines, l => l.Kind.Contains("switch with value") && l.Line.Contains("--untied "));
        Assert.All(lines, l => Assert.False(Checks.EchoWouldTrip(l.Line), l.Line));
    }
}
