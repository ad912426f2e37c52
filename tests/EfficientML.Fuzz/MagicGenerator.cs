using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace EfficientML.Fuzz;

/// <summary>Paths the generator puts into options: good and corrupted model files, and things that are not files.</summary>
public sealed record FuzzPaths(string Folder, string ValidModel, IReadOnlyList<string> CorruptedModels, string EmptyFile, string Fifo, string Missing)
{
    public IEnumerable<string> Hostile =>
        new[] { Folder, "/dev/zero", Fifo, Missing, EmptyFile, "/proc/self/status", "/etc/passwd", ".", "..", "~/model.safetensors", "" }
            .Concat(CorruptedModels);
}

/// <summary>One magic line and what it was made of (for the report).</summary>
public sealed record MagicInput(string Magic, string Line, string Kind);

/// <summary>
/// Magic lines from a seed: plausible calls with small sizes (so some really run: training steps ≤ 5, tokens ≤ 20) and
/// hostile ones (missing values, switches with values, stray text, repeated and unknown options, broken quotes, extreme
/// numbers, JSON, long and invisible text, C# keywords as names, paths to folders, devices, pipes and corrupted files).
/// The magics and their options come from the kernel (<see cref="MagicWorker"/>'s catalog), so a new magic is fuzzed too;
/// the plausible values of the known ones are below.
/// </summary>
public sealed class MagicGenerator
{
    public sealed record Parameter(string Name, bool Flag);
    public sealed record Magic(string Name, IReadOnlyList<Parameter> Parameters);

    readonly Random _random;
    readonly IReadOnlyList<Magic> _magics;
    readonly FuzzPaths _paths;

    public MagicGenerator(JsonArray catalog, FuzzPaths paths, int seed)
    {
        _random = new Random(seed);
        _paths = paths;
        _magics = catalog.Select(m => new Magic((string)m!["name"]!,
            m["parameters"]!.AsArray().Select(p => new Parameter((string)p!["name"]!, (bool)p["flag"]!)).ToList())).ToList();
    }

    public IReadOnlyList<Magic> Magics => _magics;

    /// <summary>Numbers at and beyond every limit, and things that only look like numbers.</summary>
    public static readonly string[] HostileNumbers =
    [
        "2147483647", "2147483648", "4294967296", "-2147483649", "9223372036854775808", "99999999999999999999999",
        "-1e30", "1e308", "1e309", "3e38", "-3e38", "1e-320", "NaN", "Infinity", "-Infinity", "∞", "-0", "0", "-1", "1.5", "0.5", "+5",
        "0x10", "1_000", "1,000", "1 000", "١٢", "５", "2e3", "1e", ".", "-", "--1", "+-1",
    ];

    /// <summary>JSON, quoting and text that a parser may treat specially.</summary>
    public static readonly string[] HostileText =
    [
        "[]", "{}", "[1,2]", "\"x\"", "null", "true", "false", "{\"a\":1}", "'x'", "\\", "\\\"", "$x", "%PATH%", "`x`", "a=b", "--", "-", "#!model",
        "x\u200By", "\u200B", "\u202Eabc", "\uFEFFm", "m\u0301", "🐳", "\u00A0", "é", "\t", "\u0000", "a\u0007b",
        "class", "int", "namespace", "this", "null", "void", "@class", "_", "__", "a-b", "1abc", "a.b", "Console",
    ];

    static readonly string LongText = new('é', 1000);
    static readonly string VeryLongName = "n" + new string('x', 5000);

    /// <summary>
    /// The inputs every run starts with, whatever the seed: the hostile cases named in the fuzzer's brief (a missing value,
    /// a switch given a value, stray text, a repeated option, every hostile path after --from, extreme numbers and JSON for
    /// a count, invisible and keyword names), and failures that happen after a magic has looked a model up or started work.
    /// </summary>
    public IReadOnlyList<MagicInput> Fixed()
    {
        var list = new List<MagicInput>();
        void Add(string magic, string line, string kind) { if (_magics.Any(m => m.Name == magic)) list.Add(new MagicInput(magic, line, "fixed: " + kind)); }
        // First, before anything else names them: a failure after the magic registered a C# variable as a model.
        Add("#!reparam", "#!reparam --model rep --block 99", "fails after the lookup (C# RepCnn)");
        Add("#!train", "#!train --model cs --steps 0", "fails after the lookup (C# TinyGpt)");
        Add("#!hyperclone", "#!hyperclone --model --factor 2", "missing value");
        Add("#!model", "#!model --name x --untied false", "switch with value");
        Add("#!train", "#!train foo --model m", "stray text");
        Add("#!model", "#!model --name p0 --name p1", "repeated option");
        Add("#!model", "#!model --name p0 --bogus 1", "unknown option");
        Add("#!model", "#!model --name \"\"", "empty quotes");
        Add("#!model", "#!model --name \"p0", "unclosed quote");
        foreach (var path in _paths.Hostile.Append(_paths.ValidModel).Distinct())
            Add("#!model", $"#!model --name p3 --from {Quote(path)}", "path");
        foreach (var n in HostileNumbers)
            Add("#!train", $"#!train --model m --steps {n} --batch 1 --block 8 --eval-every 0", "number");
        foreach (var n in new[] { "2147483647", "2147483648", "-1", "0", "1.5", "NaN", "1e308" })
            Add("#!model", $"#!model --name p2 --layers 1 --dim {n} --heads 2 --context 16", "number");
        foreach (var j in new[] { "[]", "{}", "[1,2]", "\"x\"", "null", "true" })
            Add("#!train", $"#!train --model m --steps {j} --batch 1 --block 8", "JSON");
        foreach (var name in new[] { "x\u200By", "class", "@class", LongText, VeryLongName, "\u202Eabc", "_" })
            Add("#!model", $"#!model --name {Quote(name)} --layers 1 --dim 8 --heads 1 --context 16", "name");
        Add("#!model", "#!model --name p1 --layers 1 --dim 16 --heads 2 --mlp 32 --context 32 --seed 9", "plausible");
        // A run that diverges fails the cell after its record became a C# variable.
        Add("#!train", "#!train --model p1 --steps 50 --lr 1e6 --warmup 0 --batch 2 --block 16 --eval-every 0 --run wildRun", "diverges");
        Add("#!race", "#!race --challenger m --baseline m2 --steps 50 --lr 1e6 --warmup 0 --batch 2 --block 16 --eval-every 0 --race wildRace", "diverges");
        Add("#!speculate", "#!speculate --model d --tokens 5 --k 1 --steps 2 --prompt \"\u0000\"", "NUL prompt");
        Add("#!route", "#!route --model m --text \"\u0000\" --steps 1 --batch 1 --block 8 --name r2", "NUL text");
        Add("#!pipeline", "#!pipeline --from cs --steps grow,decode --tokens 4 --name pl2", "fails after the lookup (C# TinyGpt)");
        Add("#!pipeline", "#!pipeline --from d --steps cluster,grow --tokens 4 --name pl2", "impossible order");
        Add("#!pipeline", "#!pipeline --name pl3 --resume --steps draft", "resumes a pipeline that does not exist");
        Add("#!keywords", "#!keywords --keywords \"\" --no-unknown --speakers 1", "empty keyword");
        Add("#!keywords", "#!keywords --keywords x\u200By --no-unknown --no-silence --speakers 1 --name kw2", "invisible keyword");
        Add("#!keywords", "#!keywords --snr 20..5 --keywords yes --no-unknown --speakers 1", "reversed range");
        Add("#!keywords", "#!keywords --snr NaN..Infinity --keywords yes --no-unknown --speakers 1", "NaN range");
        return list;
    }

    public MagicInput Next()
    {
        for (int attempt = 0; ; attempt++)
        {
            var input = Make();
            if (!Checks.EchoWouldTrip(input.Line) || attempt > 20) return input;
        }
    }

    MagicInput Make()
    {
        var magic = _magics[_random.Next(_magics.Count)];
        var call = Plausible(magic);
        var kinds = new List<string>();
        if (_random.NextDouble() >= 0.35)
        {
            int mutations = _random.NextDouble() < 0.7 ? 1 : 2;
            for (int i = 0; i < mutations; i++) kinds.Add(Mutate(magic, call));
        }
        var line = Render(magic.Name, call);
        return new MagicInput(magic.Name, line, kinds.Count == 0 ? "plausible" : string.Join("+", kinds));
    }

    /// <summary>One token of a line: an option with or without a value, or bare text; <see cref="Raw"/> is written as is.</summary>
    sealed record Token(string? Option, string? Value, bool Raw = false);

    static string Render(string name, List<Token> call)
    {
        var sb = new StringBuilder(name);
        foreach (var t in call)
        {
            if (t.Option != null) sb.Append(' ').Append(t.Option);
            if (t.Value != null) sb.Append(' ').Append(t.Raw ? t.Value : Quote(t.Value));
        }
        return sb.ToString();
    }

    /// <summary>A value as a user would type it: in quotes when it holds white space or is empty.</summary>
    static string Quote(string value) => value.Length == 0 || value.Any(char.IsWhiteSpace) ? $"\"{value}\"" : value;

    T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
    bool Chance(double p) => _random.NextDouble() < p;
    string Int(int min, int max) => _random.Next(min, max + 1).ToString(CultureInfo.InvariantCulture);

    List<Token> Plausible(Magic magic)
    {
        var call = new List<Token>();
        void Add(string option, string? value = null) => call.Add(new Token(option, value));
        void Maybe(double p, string option, string? value = null) { if (Chance(p)) Add(option, value); }
        void Training(int maxSteps, bool evalEvery = true)
        {
            var steps = _random.Next(1, maxSteps + 1);
            Add("--steps", steps.ToString(CultureInfo.InvariantCulture));
            Add("--batch", Int(1, 3));
            Add("--block", Pick(["8", "16"]));
            if (evalEvery) Add("--eval-every", Pick(["0", steps.ToString(CultureInfo.InvariantCulture)]));
            Maybe(0.3, "--lr", Pick(["1e-3", "3e-4", "0.01"]));
            Maybe(0.2, "--warmup", Pick(["0", "1"]));
            Maybe(0.2, "--seed", Int(0, 3));
        }
        switch (magic.Name)
        {
            case "#!model":
            {
                double r = _random.NextDouble();
                var name = Pick(["p0", "p1", "p2", "p3"]);
                if (r < 0.6)
                {
                    Add("--name", name);
                    int heads = Pick([1, 2, 4]);
                    Add("--layers", Int(1, 2));
                    Add("--dim", (heads * Pick([4, 8])).ToString(CultureInfo.InvariantCulture));
                    Add("--heads", heads.ToString(CultureInfo.InvariantCulture));
                    if (Chance(0.3)) Add("--kv-heads", Pick<string>(heads == 4 ? ["1", "2", "4"] : heads == 2 ? ["1", "2"] : ["1"]));
                    Maybe(0.5, "--mlp", Pick(["16", "32", "64"]));
                    Add("--context", Pick(["16", "32", "64"]));
                    Maybe(0.2, "--untied");
                    Maybe(0.3, "--seed", Int(0, 99));
                }
                else if (r < 0.75) Add("--name", Pick(["m", "d", "m2"]));
                else if (r < 0.95) { Add("--name", name); Add("--from", _paths.ValidModel); }
                else { Add("--name", name); Add("--pretrained"); }
                break;
            }
            case "#!train":
                Add("--model", Pick(["m", "d", "m2", "p0"]));
                Training(5);
                Maybe(0.3, "--run", Pick(["run0", "run1"]));
                break;
            case "#!hyperclone":
                Add("--model", Pick(["m", "d"]));
                Add("--factor", Pick(["2", "2", "3"]));
                Maybe(0.3, "--noise-db", Pick(["10", "20", "-5"]));
                Maybe(0.2, "--seed", Int(0, 9));
                Add("--name", Pick(["h0", "h1", "h2"]));
                Maybe(0.3, "--report", Pick(["rep0", "rep1"]));
                Maybe(0.3, "--weight", Pick(["blocks.0.mlp.fc.weight", "wte.weight", "blocks.0.attn.q_proj.weight", "ln_f.weight"]));
                break;
            case "#!race":
                var pair = Pick(new[] { ("m", "m2"), ("m2", "m") });
                Add("--challenger", pair.Item1);
                Add("--baseline", pair.Item2);
                Training(4);
                Maybe(0.3, "--race", Pick(["race0", "race1"]));
                break;
            case "#!subclone":
                Add("--model", "d");
                Maybe(0.6, "--width", Pick(["16", "32"]));
                if (Chance(0.5)) Add("--layers", "1"); else if (Chance(0.5)) Add("--keep", Pick(["0", "1", "0,1"]));
                Maybe(0.3, "--mlp", Pick(["16", "32"]));
                Maybe(0.2, "--no-rescale");
                Add("--name", Pick(["s0", "s1", "s2"]));
                Maybe(0.3, "--report", Pick(["sub0", "sub1"]));
                Add("--calibration-tokens", Pick(["2x16", "1x8", "4x32"]));
                Maybe(0.2, "--seed", Int(0, 9));
                break;
            case "#!cluster":
            {
                Add("--model", Pick(["m", "m2"]));
                Add("--bits", Int(1, 4));
                Maybe(0.3, "--tau", Pick(["1e-4", "0.001", "1e-5"]));
                bool layers = Chance(0.3);
                if (layers) Add("--layers", Pick(["blocks.0.mlp.fc", "blocks.0.mlp.fc,blocks.0.mlp.proj"]));
                Add("--name", Pick(["c0", "c1", "c2"]));
                Maybe(0.3, "--result", Pick(["cl0", "cl1"]));
                if (Chance(0.4)) Add("--no-finetune");
                else
                {
                    Training(3, evalEvery: false);
                    Maybe(0.3, "--edkm");
                }
                Maybe(0.3, "--watch", "blocks.0.mlp.fc");
                break;
            }
            case "#!keywords":
                Add("--keywords", Pick(["yes", "yes,no"]));
                Add("--no-unknown");
                Maybe(0.8, "--no-silence");
                Add("--speakers", "1");
                Add("--seed", Int(0, 1));
                Maybe(0.2, "--snr", Pick(["10", "5..20"]));
                Maybe(0.2, "--telephone", Pick(["0", "0.3", "1"]));
                Maybe(0.2, "--warp", Pick(["0", "0.1", "0.3"]));
                Maybe(0.2, "--tempo", Pick(["0", "0.15"]));
                Maybe(0.2, "--rooms", Pick(["0", "0.5", "1"]));
                Add("--name", Pick(["kw0", "kw1"]));
                break;
            case "#!reparam":
                Add("--model", "rep");
                Maybe(0.4, "--features", "feats");
                Add("--name", Pick(["f0", "f1"]));
                Maybe(0.3, "--result", Pick(["rp0", "rp1"]));
                Maybe(0.4, "--block", Int(0, 1));
                Maybe(0.4, "--channel", Int(0, 7));
                Add("--repeats", Int(1, 5));
                break;
            case "#!route":
                Add("--model", Pick(["m", "m2"]));
                Maybe(0.3, "--experts", Pick(["0.5,1", "0.25,0.5,1"]));
                Maybe(0.2, "--tolerance", Pick(["0.1", "0.5"]));
                Maybe(0.2, "--router-hidden", Pick(["0", "8"]));
                Maybe(0.2, "--theta", Pick(["0", "0.5", "1"]));
                Maybe(0.2, "--thetas", Pick(["0,1", "0,0.5,1"]));
                Maybe(0.2, "--text", Pick(["Call me Ishmael.", "whale"]));
                Maybe(0.2, "--baseline");
                Add("--name", Pick(["r0", "r1"]));
                Maybe(0.3, "--result", Pick(["ro0", "ro1"]));
                Training(3);
                break;
            case "#!speculate":
            {
                Add("--model", "d");
                Maybe(0.6, "--prompt", Pick(["Call me", "The whale", "a"]));
                Add("--tokens", Int(1, 20));
                var draft = Pick(["m2r2", "early-exit", "early-exit", "dd"]);
                if (draft != "m2r2" || Chance(0.5)) Add("--draft", draft);
                if (draft != "dd") Maybe(0.6, "--k", "1");
                if (draft == "m2r2") Add("--steps", Int(1, 5));
                Maybe(0.5, "--gamma", Int(1, 4));
                if (Chance(0.2)) { Add("--adaptive"); Maybe(0.5, "--max-gamma", Int(4, 8)); }
                if (Chance(0.3)) { Add("--temperature", Pick(["0.8", "1"])); Maybe(0.5, "--top-k", Int(1, 40)); Maybe(0.5, "--seed", Int(0, 9)); }
                Maybe(0.3, "--name", Pick(["spec0", "spec1"]));
                break;
            }
            case "#!gates":
                Add("--model", "cg");
                Maybe(0.6, "--input", Pick(["speech", "noise", "silence"]));
                Add("--seconds", Pick(["3", "4", "6"]));
                Maybe(0.4, "--chunk", Pick(["10", "160", "1000"]));
                Maybe(0.3, "--gating", Pick(["learned", "keep", "skip"]));
                Maybe(0.3, "--threshold", Pick(["0.3", "0.9"]));
                Maybe(0.2, "--gate-threshold", Pick(["0.1", "0.5", "0.9"]));
                Maybe(0.3, "--seed", Int(0, 9));
                Add("--name", Pick(["g0", "g1"]));
                break;
            case "#!gated":
                // Quick mode (the worker's) caps the recordings and steps; one step still runs the whole comparison.
                Add("--steps", "1");
                Maybe(0.3, "--cost-target", Pick(["0", "0.35", "1"]));
                Maybe(0.2, "--cost-pull", Pick(["0", "0.75", "10"]));
                Maybe(0.2, "--speech-pull", Pick(["0", "0.1", "1"]));
                Maybe(0.2, "--distill", Pick(["0", "0.5", "1"]));
                Maybe(0.2, "--gate-decay", Pick(["0", "0.01", "0.1"]));
                Maybe(0.2, "--gate-context", Pick(["0", "2", "8"]));
                Maybe(0.2, "--cost-weight", Pick(["0", "2"]));
                Maybe(0.2, "--seed", Int(0, 3));
                Add("--model", Pick(["gm0", "gm1"]));
                Add("--baseline", Pick(["gb0", "gb1"]));
                Add("--report", Pick(["gr0", "gr1"]));
                break;
            case "#!asd":
                // "asdm" is an untrained detector, "cg" a model of another kind, "asd" none at all.
                Maybe(0.9, "--model", Pick(["asdm", "asdm", "cg", "asd"]));
                Maybe(0.6, "--seconds", Pick(["2", "3", "4"]));
                Maybe(0.5, "--faces", Int(1, 4));
                Maybe(0.3, "--seed", Int(0, 9));
                Maybe(0.5, "--name", Pick(["a0", "a1"]));
                break;
            case "#!asd-grid":
                // Quick mode (the worker's) caps the scenes and the grid; one step each still runs the whole study.
                Add("--steps", "1");
                Add("--encoder-steps", "1");
                Maybe(0.5, "--past", Pick(["0", "0,2", "4"]));
                Maybe(0.5, "--future", Pick(["0", "1", "0,1"]));
                Add("--scenes", Pick(["1", "2"]));
                Maybe(0.2, "--seed", Int(0, 3));
                Maybe(0.3, "--repeats", Pick(["1", "2"]));
                Add("--report", Pick(["ag0", "ag1"]));
                break;
            case "#!kws-match":
                // "sk" is an untrained SLiCK model, "cg" a model of another kind, "slick" none at all.
                Maybe(0.8, "--model", Pick(["sk", "cg", "slick"]));
                Add("--keywords", Pick(["brave", "brave, bravo", "thank you", "", "héllo", "hey computer please stop the whale now"]));
                if (Chance(0.7))
                {
                    Add("--text", Pick(["a brave whale", "thank you", "call me ishmael"]));
                    Maybe(0.5, "--voice", Pick(["real", "en-us", "en-us+f2", "en-gb-scotland+m3", "klingon"]));
                    Maybe(0.3, "--seed", Int(0, 9));
                }
                else
                {
                    Add("--stream", Pick(["5", "8", "2"]));
                    Maybe(0.4, "--threshold", Pick(["0.3", "0.5", "0.9"]));
                }
                Maybe(0.3, "--name", Pick(["km0", "km1"]));
                break;
            case "#!prefill":
            {
                // Small prompts on the pretrained model; now and then real MPI processes (each call starts them) or a search.
                int length = int.Parse(Pick(["16", "48", "100"]));
                int workers = int.Parse(Int(1, 3));
                Add("--workers", workers.ToString());
                Add("--length", length.ToString());
                var method = Pick(["runahead", "runahead", "allgather", "single", "race"]);
                Maybe(0.7, "--method", method);
                if (method == "runahead" && Chance(0.4))
                    Add("--partition", string.Join(',', Enumerable.Range(0, workers).Select(i => length / workers + (i < length % workers ? 1 : 0)).Reverse()));
                if (method != "single" && Chance(0.1)) Add("--transport", "mpi");
                else if (method is "runahead" or "race" && Chance(0.1)) Add("--search");
                Maybe(0.3, "--name", Pick(["pf0", "pf1"]));
                break;
            }
            case "#!pipeline":
            {
                // Quick mode (the worker's) keeps each step to a moment on these small models; a resumed name may or may not exist yet.
                var name = Pick(["pl0", "pl1"]);
                Add("--name", name);
                if (Chance(0.25))
                {
                    Add("--resume");
                    if (Chance(0.5)) Add("--steps", Pick(["draft", "route", "cluster", "decode", "export", "draft,decode", "route,cluster"]));
                    else Maybe(0.3, "--skip", Pick(["export", "route,cluster"]));
                    break;
                }
                Add("--from", Pick(["d", "d", "m", "m2"]));
                if (Chance(0.6)) Add("--steps", Pick(["grow", "train", "grow,train", "grow,train,draft", "draft,route", "route,cluster,export",
                                                      "train,draft,decode", "grow,draft,cluster,decode,export", "cluster,grow", "decode,draft"]));
                else Maybe(0.4, "--skip", Pick(["decode", "export", "route,cluster", "grow,decode"]));
                Maybe(0.3, "--grow", Pick(["2", "3"]));
                Maybe(0.3, "--bits", Int(1, 4));
                Maybe(0.2, "--budget", Pick(["0", "0.02", "0.5"]));
                Maybe(0.4, "--train-steps", Int(1, 5));
                Add("--tokens", Int(1, 8));
                break;
            }
            default:
                // A magic this generator has no table for: a few of its options with generic values.
                foreach (var p in magic.Parameters)
                    if (Chance(0.4)) Add(p.Name, p.Flag ? null : Pick(["1", "m", "x", "0.5"]));
                break;
        }
        // Options the directive no longer has are left out, so plausible calls stay plausible when a magic changes.
        var known = magic.Parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        call.RemoveAll(t => t.Option != null && !known.Contains(t.Option));
        return call;
    }

    string HostileValue(string? option)
    {
        double r = _random.NextDouble();
        if (option is "--from" && r < 0.6) return Pick(_paths.Hostile.ToList());
        if (r < 0.40) return Pick(HostileNumbers);
        if (r < 0.70) return Pick(HostileText);
        if (r < 0.78) return LongText;
        if (r < 0.80) return VeryLongName;
        if (r < 0.90) return Pick(_paths.Hostile.ToList());
        return Pick(["m", "d", "rep", "feats", "notAModel", "quick", "m2", "p0", "h0"]); // names of the wrong kind of thing
    }

    string Mutate(Magic magic, List<Token> call)
    {
        var valued = magic.Parameters.Where(p => !p.Flag).ToList();
        var flags = magic.Parameters.Where(p => p.Flag).ToList();
        int Position() => _random.Next(call.Count + 1);
        switch (_random.Next(13))
        {
            case 0 or 1 or 2 or 3: // a hostile value for an option (one it has, or one added)
            {
                var withValue = call.Select((t, i) => (t, i)).Where(p => p.t.Option != null && p.t.Value != null).ToList();
                if (withValue.Count > 0 && Chance(0.7))
                {
                    var (t, i) = Pick(withValue);
                    call[i] = t with { Value = HostileValue(t.Option) };
                    return "hostile value";
                }
                if (valued.Count == 0) goto case 6;
                var p = Pick(valued);
                call.RemoveAll(t => t.Option == p.Name);
                call.Insert(Position(), new Token(p.Name, HostileValue(p.Name)));
                return "hostile value";
            }
            case 4: // an option without its value: --model --factor 2
            {
                var withValue = call.Select((t, i) => (t, i)).Where(p => p.t.Option != null && p.t.Value != null).ToList();
                if (withValue.Count == 0) goto case 6;
                var (t, i) = Pick(withValue);
                call[i] = t with { Value = null };
                return "missing value";
            }
            case 5: // a switch given a value: --untied false
            {
                if (flags.Count == 0) goto case 6;
                var f = Pick(flags);
                call.RemoveAll(t => t.Option == f.Name);
                call.Insert(Position(), new Token(f.Name, Pick(["false", "true", "0", "1", "yes", "no", "\"\""]), Raw: true));
                return "switch with value";
            }
            case 6: // stray text
                call.Insert(Position(), new Token(null, Pick(["foo", "m", "2", "-x", "\"quoted text\"", "#!model", "--", "-", "—name"]), Raw: true));
                return "stray text";
            case 7: // an option twice
            {
                var options = call.Where(t => t.Option != null).ToList();
                if (options.Count == 0) goto case 8;
                var t = Pick(options);
                call.Insert(Position(), t.Value is null ? t : t with { Value = Chance(0.5) ? t.Value : HostileValue(t.Option) });
                return "repeated option";
            }
            case 8: // an unknown option, or a known one misspelt
            {
                var option = Pick(magic.Parameters.Select(p => p.Name).DefaultIfEmpty("--model").ToList());
                var unknown = Pick(["--bogus", option.ToUpperInvariant(), option.Length > 3 ? option[1..] : "-x", "-" + option, option + "=1",
                                    "—" + option.TrimStart('-'), "--" + option.TrimStart('-') + "s", "--\u200B" + option.TrimStart('-'), "--help", "-h", "--?"]);
                call.Insert(Position(), new Token(unknown, Chance(0.6) ? Pick(["1", "m", "x"]) : null));
                return "unknown option";
            }
            case 9: // empty quotes as a value
            {
                if (valued.Count == 0) goto case 6;
                var p = Pick(valued);
                call.RemoveAll(t => t.Option == p.Name);
                call.Insert(Position(), new Token(p.Name, "\"\"", Raw: true));
                return "empty quotes";
            }
            case 10: // an unclosed quote
            {
                var opened = Pick(["\"abc", "\"", "abc\"", "\"a\"b\"", "\"m"]);
                if (valued.Count > 0 && Chance(0.7))
                {
                    var p = Pick(valued);
                    call.RemoveAll(t => t.Option == p.Name);
                    call.Insert(Position(), new Token(p.Name, opened, Raw: true));
                }
                else call.Add(new Token(null, opened, Raw: true));
                return "unclosed quote";
            }
            case 11: // white space a user would not see: tabs, no-break spaces, trailing spaces
            {
                var withValue = call.Select((t, i) => (t, i)).Where(p => p.t.Option != null && p.t.Value != null).ToList();
                if (withValue.Count == 0) goto case 6;
                var (t, i) = Pick(withValue);
                var gap = Pick(["\t", "\u00A0", "\u2003", "  ", "\u3000"]);
                call[i] = new Token(t.Option + gap + Quote(t.Value!), null, Raw: true);
                return "odd white space";
            }
            default: // several options drop their values at once, or all the plausible ones are replaced by hostile ones
            {
                for (int i = 0; i < call.Count; i++)
                    if (call[i].Option != null && call[i].Value != null && Chance(0.5))
                        call[i] = call[i] with { Value = HostileValue(call[i].Option) };
                return "many hostile values";
            }
        }
    }
}
