using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Models;

/// <summary>
/// Reads and writes Hugging Face GPT-2 checkpoints (<c>model.safetensors</c>, optionally with a <c>config.json</c>
/// beside it) as <see cref="TinyGpt"/> models. GPT-2 is the same architecture: learned positions, pre-norm blocks,
/// fused q/k/v projection, GELU (tanh approximation) MLP, final LayerNorm, head tied to the token embeddings.
/// </summary>
/// <remarks>
/// GPT-2's linear layers are <c>Conv1D</c>s whose weights are stored (in, out), the transpose of
/// <see cref="TorchSharp.Modules.Linear"/>'s (out, in); the attention's q, k and v are one (d, 3d) matrix.
/// Both conversions are exact copies, so a round trip reproduces every parameter bit for bit.
/// </remarks>
public static class Gpt2Checkpoint
{
    const string Prefix = "transformer.";
    const string LmHead = "lm_head.weight";
    const string ConfigFile = "config.json";

    static readonly string[] GlobalNames = ["wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"];

    static readonly string[] LayerNames =
    [
        "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
        "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
    ];

    // Causal-mask buffers some GPT-2 exports include; they hold no learned values.
    static readonly string[] LayerBuffers = ["attn.bias", "attn.masked_bias"];

    static readonly Regex LayerName = new(@"^h\.(\d+)\.(.+)$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Builds a <see cref="TinyGpt"/> (CPU, float32) from a GPT-2 safetensors file. Names may carry the
    /// <c>transformer.</c> prefix of a saved <c>GPT2LMHeadModel</c>; F16, BF16 and F32 weights are all read as float32.
    /// Sizes come from the tensors (the MLP width from <c>c_fc</c>, so it need not be 4d). The head count comes from
    /// <paramref name="heads"/>, else <c>n_head</c> in a <c>config.json</c> in the same folder, else <c>n_head</c>
    /// in the file's metadata. That <c>config.json</c> (or else the metadata) may also give <c>layer_norm_epsilon</c>
    /// (default 1e-5) and <c>activation_function</c> (default <c>gelu_new</c>, GPT-2's).
    /// A separate <c>lm_head.weight</c> that differs from the token embeddings gives an untied head.
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing, not safetensors, or not a consistent GPT-2 checkpoint; the message names the tensor or setting and the fix.</exception>
    public static TinyGpt Load(string path, int? heads = null)
    {
        SafeTensorsFile file;
        try
        {
            file = SafeTensors.Read(path);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException($"'{path}' could not be read as a safetensors file ({e.Message}). Check that it is a model.safetensors file; copy or download it again.", e);
        }
        using (file)
        {
            if (file.Metadata.GetValueOrDefault("format") == "efficientml.tinygpt")
                throw new CheckpointException($"'{path}' is a TinyGpt checkpoint, not a GPT-2 one: load it with TinyGpt.Load.");
            var tensors = StripPrefix(path, file.Tensors);
            var shape = Sizes(path, tensors);
            var settings = Settings(path, file.Metadata, heads, shape);
            var config = new TinyGptConfig
            {
                VocabSize = (int)shape.Vocab, ContextLength = (int)shape.Positions, Layers = shape.Layers, Dim = (int)shape.Dim,
                Heads = settings.Heads, KvHeads = settings.Heads, MlpDim = (int)shape.Mlp, TiedHead = shape.Tied,
                NormEps = settings.NormEps, Activation = settings.Activation,
            };
            var model = new TinyGpt(config);
            try
            {
                Copy(model, tensors);
            }
            catch
            {
                model.Dispose();
                throw;
            }
            model.eval();
            return model;
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a Hugging Face GPT-2 safetensors file (<c>GPT2Model</c> names, no
    /// <c>transformer.</c> prefix, Conv1D (in, out) layouts, in the model's dtype), with <c>lm_head.weight</c> only for
    /// an untied head. The metadata holds <c>format</c>="pt", <c>n_head</c>, <c>n_layer</c>, <c>n_embd</c>,
    /// <c>n_positions</c>, <c>vocab_size</c>, and also <c>n_inner</c>, <c>layer_norm_epsilon</c> and
    /// <c>activation_function</c> so that <see cref="Load"/> restores the model exactly without a <c>config.json</c>.
    /// </summary>
    /// <remarks>
    /// GPT-2 has no grouped-query attention: a model with fewer key/value heads than query heads is written with each
    /// key/value head repeated for the query heads it serves, which computes the same function (the file is larger
    /// and loads back as a multi-head model). A model with the exact GELU is written as is, with
    /// <c>activation_function</c> "gelu" rather than GPT-2's "gelu_new".
    /// </remarks>
    /// <param name="model">The model to write.</param>
    /// <param name="path">The safetensors file to write (its folder is created).</param>
    /// <param name="writeConfigJson">Also write a minimal Hugging Face <c>config.json</c> beside the file (replacing one that is there).</param>
    public static void Save(TinyGpt model, string path, bool writeConfigJson = false)
    {
        var c = model.Config;
        using (NewDisposeScope())
        using (no_grad())
        {
            var tensors = new List<KeyValuePair<string, Tensor>>
            {
                new("wte.weight", model.wte.weight!), new("wpe.weight", model.wpe.weight!),
            };
            int group = c.Heads / c.KvHeads;
            for (int i = 0; i < c.Layers; i++)
            {
                var b = model.blocks[i];
                var a = b.attn;
                var weight = cat([a.q_proj.weight!, RepeatHeads(a.k_proj.weight!, c, group), RepeatHeads(a.v_proj.weight!, c, group)], 0); // (3d, d)
                var bias = cat([a.q_proj.bias!, RepeatHeads(a.k_proj.bias!, c, group), RepeatHeads(a.v_proj.bias!, c, group)], 0); // (3d)
                string h = $"h.{i}.";
                tensors.AddRange(
                [
                    new(h + "ln_1.weight", b.ln_1.weight!), new(h + "ln_1.bias", b.ln_1.bias!),
                    new(h + "attn.c_attn.weight", weight.t()), new(h + "attn.c_attn.bias", bias),               // (d, 3d), (3d)
                    new(h + "attn.c_proj.weight", a.o_proj.weight!.t()), new(h + "attn.c_proj.bias", a.o_proj.bias!),
                    new(h + "ln_2.weight", b.ln_2.weight!), new(h + "ln_2.bias", b.ln_2.bias!),
                    new(h + "mlp.c_fc.weight", b.mlp.fc.weight!.t()), new(h + "mlp.c_fc.bias", b.mlp.fc.bias!),       // (d, m)
                    new(h + "mlp.c_proj.weight", b.mlp.proj.weight!.t()), new(h + "mlp.c_proj.bias", b.mlp.proj.bias!), // (m, d)
                ]);
            }
            tensors.Add(new("ln_f.weight", model.ln_f.weight!));
            tensors.Add(new("ln_f.bias", model.ln_f.bias!));
            if (model.lm_head is { } head) tensors.Add(new(LmHead, head.weight!));
            var metadata = new Dictionary<string, string>
            {
                ["format"] = "pt",
                ["n_head"] = Text(c.Heads), ["n_layer"] = Text(c.Layers), ["n_embd"] = Text(c.Dim),
                ["n_positions"] = Text(c.ContextLength), ["vocab_size"] = Text(c.VocabSize), ["n_inner"] = Text(c.MlpDim),
                ["layer_norm_epsilon"] = c.NormEps.ToString("R", CultureInfo.InvariantCulture),
                ["activation_function"] = HfActivation(c.Activation),
            };
            SafeTensors.Write(path, tensors, metadata);
        }
        if (writeConfigJson) WriteConfigJson(c, ConfigPath(path));
    }

    /// <summary>(KvHeads*hd, ...) to (Heads*hd, ...): each key/value head repeated for the query heads it serves.</summary>
    static Tensor RepeatHeads(Tensor t, TinyGptConfig c, int group)
    {
        if (group == 1) return t;
        var rest = t.shape.Skip(1).ToArray();
        return t.view([c.KvHeads, c.HeadDim, .. rest]).repeat_interleave(group, dim: 0).reshape([c.Heads * c.HeadDim, .. rest]);
    }

    static void WriteConfigJson(TinyGptConfig c, string path)
    {
        var json = new JsonObject
        {
            ["model_type"] = "gpt2",
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["n_head"] = c.Heads, ["n_layer"] = c.Layers, ["n_embd"] = c.Dim,
            ["n_positions"] = c.ContextLength, ["n_ctx"] = c.ContextLength, ["vocab_size"] = c.VocabSize,
            ["n_inner"] = c.MlpDim, ["layer_norm_epsilon"] = c.NormEps,
            ["activation_function"] = HfActivation(c.Activation), ["tie_word_embeddings"] = c.TiedHead,
        };
        File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    static string HfActivation(string activation) => activation == TinyGptConfig.GeluTanh ? "gelu_new" : "gelu";

    static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    static string ConfigPath(string path) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", ConfigFile);

    /// <summary>Names without the optional <c>transformer.</c> prefix (<c>lm_head.weight</c> has none in HF's files).</summary>
    static Dictionary<string, (string FileName, Tensor Tensor)> StripPrefix(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var result = new Dictionary<string, (string, Tensor)>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            var key = name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
            if (result.TryGetValue(key, out var other))
                throw new CheckpointException($"'{path}' holds both '{other.Item1}' and '{name}', the same GPT-2 weight with and without the '{Prefix}' prefix. Keep one of them.");
            result[key] = (name, tensor);
        }
        return result;
    }

    sealed record Shape(long Vocab, long Positions, int Layers, long Dim, long Mlp, bool Tied)
    {
        /// <summary>The sizes a config.json or the file's metadata states, by their Hugging Face names, as the tensors have them.</summary>
        public (string Key, long Actual)[] Sizes => [("n_embd", Dim), ("n_layer", Layers), ("vocab_size", Vocab), ("n_positions", Positions), ("n_inner", Mlp)];
    }

    /// <summary>Checks names and shapes; sizes come from wte, wpe and the first layer's c_fc.</summary>
    static Shape Sizes(string path, Dictionary<string, (string FileName, Tensor Tensor)> tensors)
    {
        // Layers: every h.{i}.* name, with canonical indices 0..L-1.
        var layers = new SortedSet<int>();
        foreach (var name in tensors.Keys)
        {
            var m = LayerName.Match(name);
            if (m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var i) &&
                Text(i) == m.Groups[1].Value)
                layers.Add(i);
        }
        if (layers.Count == 0)
            throw new CheckpointException(
                $"'{path}' has no GPT-2 transformer blocks (no tensors named 'h.0.…'; it holds {Names(tensors.Values.Select(v => v.FileName))}). " +
                "Use a GPT-2 model.safetensors from Hugging Face or one written by Gpt2Checkpoint.Save.");
        if (layers.Min != 0 || layers.Max != layers.Count - 1)
        {
            var gaps = Enumerable.Range(0, layers.Max + 1).Where(i => !layers.Contains(i)).Select(i => $"h.{i}");
            throw new CheckpointException(
                $"'{path}' has blocks {string.Join(", ", layers.Select(i => $"h.{i}"))} but not {string.Join(", ", gaps)}: block indices must run 0..L-1 without gaps. " +
                "The file is incomplete or was edited; export the whole model again.");
        }
        int layerCount = layers.Count;

        var expected = new List<string>(GlobalNames);
        for (int i = 0; i < layerCount; i++) expected.AddRange(LayerNames.Select(n => $"h.{i}.{n}"));
        var missing = expected.Where(n => !tensors.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(
                $"'{path}' is missing GPT-2 tensor{(missing.Count > 1 ? "s" : "")} {Names(missing)}. " +
                "The file is incomplete or not a GPT-2 checkpoint; export the whole model again.");
        var known = new HashSet<string>(expected, StringComparer.Ordinal) { LmHead };
        for (int i = 0; i < layerCount; i++) known.UnionWith(LayerBuffers.Select(n => $"h.{i}.{n}"));
        var unknown = tensors.Where(p => !known.Contains(p.Key)).Select(p => p.Value.FileName).ToList();
        if (unknown.Count > 0)
            throw new CheckpointException(
                $"'{path}' holds tensor{(unknown.Count > 1 ? "s" : "")} {Names(unknown)} that a GPT-2 model does not have. " +
                "This is another architecture (or a GPT-2 with extra heads); only plain GPT-2 checkpoints can be loaded.");

        foreach (var name in expected.Append(LmHead))
        {
            if (tensors.TryGetValue(name, out var entry) && !entry.Tensor.is_floating_point())
                throw new CheckpointException($"'{path}': tensor '{entry.FileName}' has dtype {entry.Tensor.dtype}; GPT-2 weights must be floating point (F32, F16 or BF16). Export the model again.");
        }

        var wte = Need2D(path, tensors, "wte.weight");
        long vocab = wte.shape[0], d = wte.shape[1];
        var wpe = Need2D(path, tensors, "wpe.weight");
        long positions = wpe.shape[0];
        var fc = Need2D(path, tensors, "h.0.mlp.c_fc.weight");
        long mlp = fc.shape[1];
        var sizes = $"sizes read from the file: n_embd {d} and vocabulary {vocab} from '{tensors["wte.weight"].FileName}', MLP width {mlp} from '{tensors["h.0.mlp.c_fc.weight"].FileName}'";

        void Expect(string name, params long[] shape)
        {
            var (fileName, t) = tensors[name];
            if (!t.shape.SequenceEqual(shape))
                throw new CheckpointException(
                    $"'{path}': tensor '{fileName}' has shape [{string.Join(", ", t.shape)}] but [{string.Join(", ", shape)}] was expected ({sizes}; " +
                    "every block must have the same sizes, and linear weights the Conv1D (in, out) layout). Export the model again, or check that it is a GPT-2 checkpoint.");
        }
        Expect("wpe.weight", positions, d);
        Expect("ln_f.weight", d);
        Expect("ln_f.bias", d);
        for (int i = 0; i < layerCount; i++)
        {
            string h = $"h.{i}.";
            Expect(h + "ln_1.weight", d); Expect(h + "ln_1.bias", d);
            Expect(h + "attn.c_attn.weight", d, 3 * d); Expect(h + "attn.c_attn.bias", 3 * d);
            Expect(h + "attn.c_proj.weight", d, d); Expect(h + "attn.c_proj.bias", d);
            Expect(h + "ln_2.weight", d); Expect(h + "ln_2.bias", d);
            Expect(h + "mlp.c_fc.weight", d, mlp); Expect(h + "mlp.c_fc.bias", mlp);
            Expect(h + "mlp.c_proj.weight", mlp, d); Expect(h + "mlp.c_proj.bias", d);
        }
        bool tied = true;
        if (tensors.TryGetValue(LmHead, out var head))
        {
            Expect(LmHead, vocab, d);
            using var same = head.Tensor.to(float32).eq(wte.to(float32)).all(); // shapes already match
            tied = same.item<bool>();
        }
        foreach (var (name, value) in new[] { ("vocabulary size", vocab), ("context length", positions), ("n_embd", d), ("MLP width", mlp) })
        {
            if (value <= 0 || value > int.MaxValue)
                throw new CheckpointException($"'{path}': the {name} read from the tensors is {value}, which cannot build a model. Export the model again.");
        }
        return new Shape(vocab, positions, layerCount, d, mlp, tied);
    }

    static Tensor Need2D(string path, Dictionary<string, (string FileName, Tensor Tensor)> tensors, string name)
    {
        var (fileName, t) = tensors[name];
        if (t.dim() != 2)
            throw new CheckpointException($"'{path}': tensor '{fileName}' has shape [{string.Join(", ", t.shape)}] but must be a matrix (2 dimensions). Export the model again, or check that it is a GPT-2 checkpoint.");
        return t;
    }

    sealed record Hyper(int Heads, double NormEps, string Activation);

    /// <summary>Head count, LayerNorm epsilon and activation: argument, then config.json, then the file's metadata.</summary>
    static Hyper Settings(string path, IReadOnlyDictionary<string, string> metadata, int? heads, Shape shape)
    {
        var configPath = ConfigPath(path);
        JsonObject? config = null;
        if (File.Exists(configPath))
        {
            // Read only a regular file: a pipe named config.json would block the read forever.
            InputFiles.Length(configPath, "config.json", minimumBytes: 2,
                missing: p => new CheckpointException($"'{p}' vanished while the checkpoint was loading."),
                tooShort: (p, _) => new CheckpointException($"'{p}' beside the checkpoint is empty or not a regular file (a pipe or a device). Fix or remove it (and pass heads: to Load)."));
            try
            {
                config = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject
                    ?? throw new JsonException("it is not a JSON object");
            }
            catch (JsonException e)
            {
                throw new CheckpointException($"'{configPath}' beside the checkpoint is not valid JSON (it has {JsonProblems.Describe(e)}). Fix or remove it (and pass heads: to Load).", e);
            }
            // A config.json that describes another model would silently give wrong settings.
            foreach (var (key, actual) in shape.Sizes)
            {
                if (ConfigNumber(configPath, config, key) is double v && v != actual)
                    throw new CheckpointException(
                        $"'{configPath}' says {key} = {v} but '{path}' has {actual}: the config.json belongs to another model. Put the right config.json beside the file, or remove it and pass heads: to Load.");
            }
            if (config["scale_attn_by_inverse_layer_idx"] is JsonValue scaled && scaled.TryGetValue<bool>(out var byLayer) && byLayer)
                throw new CheckpointException($"'{configPath}' sets scale_attn_by_inverse_layer_idx, which TinyGpt's attention does not implement; such a model cannot be loaded.");
            if (config["scale_attn_weights"] is JsonValue scaleNode && scaleNode.TryGetValue<bool>(out var scale) && !scale)
                throw new CheckpointException($"'{configPath}' sets scale_attn_weights to false, which TinyGpt's attention does not implement; such a model cannot be loaded.");
        }

        // The file's own metadata must describe its tensors too (a metadata lie would otherwise build a wrong model or fail later).
        foreach (var (key, actual) in shape.Sizes)
            if (metadata.TryGetValue(key, out var said) && long.TryParse(said, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v != actual)
                throw new CheckpointException($"'{path}': its metadata says {key} = {v} but its tensors have {actual}. The file is damaged: copy or download it again, or re-save the model.");

        int n;
        if (heads is int given)
        {
            n = given;
            if (n <= 0) throw new CheckpointException($"heads: {n} is not a head count; pass a positive number that divides n_embd ({shape.Dim}).");
        }
        else if (config is not null && ConfigNumber(configPath, config, "n_head") is double fromConfig)
        {
            if (fromConfig != Math.Floor(fromConfig) || fromConfig > int.MaxValue)
                throw new CheckpointException($"'{configPath}': n_head {fromConfig} is not a head count. Fix the config.json, or pass heads: to Load.");
            n = (int)fromConfig;
        }
        else if (metadata.TryGetValue("n_head", out var fromMeta) && int.TryParse(fromMeta, NumberStyles.Integer, CultureInfo.InvariantCulture, out var m)) n = m;
        else
            throw new CheckpointException(
                $"'{path}' does not say how many attention heads the model has (no n_head in its metadata and no config.json beside it). " +
                $"Pass heads: to Gpt2Checkpoint.Load (GPT-2 small has 12), or put the model's config.json in the same folder.");
        if (n <= 0 || shape.Dim % n != 0)
            throw new CheckpointException($"'{path}': n_embd {shape.Dim} does not divide into {n} heads. Pass the model's real head count as heads:, or fix n_head in its config.json.");

        double eps = 1e-5;
        if (config is not null && ConfigNumber(configPath, config, "layer_norm_epsilon") is double e1) eps = e1;
        else if (metadata.TryGetValue("layer_norm_epsilon", out var e2))
            eps = double.TryParse(e2, NumberStyles.Float, CultureInfo.InvariantCulture, out var e3) ? e3
                : throw new CheckpointException($"'{path}': its metadata's layer_norm_epsilon '{e2}' is not a number. The file is damaged: copy or download it again, or re-save the model.");
        if (!(eps > 0))
            throw new CheckpointException($"layer_norm_epsilon {eps} for '{path}' must be positive. Fix it in config.json.");

        string? hf = null;
        string source = configPath;
        if (config?["activation_function"] is JsonNode node)
        {
            hf = node is JsonValue value && value.TryGetValue<string>(out var s) ? s
                : throw new CheckpointException($"'{configPath}': activation_function must be a string such as \"gelu_new\".");
        }
        else if (metadata.TryGetValue("activation_function", out var fromMetadata))
        {
            (hf, source) = (fromMetadata, path);
        }
        var activation = hf switch
        {
            null or "gelu_new" or "gelu_pytorch_tanh" => TinyGptConfig.GeluTanh,
            "gelu" => TinyGptConfig.Gelu,
            _ => throw new CheckpointException(
                $"'{source}': activation_function \"{hf}\" is not supported; TinyGpt runs \"gelu_new\" / \"gelu_pytorch_tanh\" (GELU, tanh approximation) and \"gelu\" (exact)."),
        };
        return new Hyper(n, eps, activation);
    }

    static double? ConfigNumber(string configPath, JsonObject config, string key)
    {
        if (config[key] is not JsonNode node) return null;
        if (node is JsonValue value && value.TryGetValue<double>(out var d)) return d;
        throw new CheckpointException($"'{configPath}': {key} must be a number (it is {node.ToJsonString()}). Fix the config.json.");
    }

    /// <summary>Copies the checked tensors into the model: Conv1D weights transposed, q/k/v split from c_attn.</summary>
    static void Copy(TinyGpt model, Dictionary<string, (string FileName, Tensor Tensor)> tensors)
    {
        var c = model.Config;
        long d = c.Dim;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        void Set(Tensor? target, string name, bool transpose = false)
        {
            var source = tensors[name].Tensor;
            target!.copy_(transpose ? source.t() : source);
        }
        Set(model.wte.weight, "wte.weight");
        Set(model.wpe.weight, "wpe.weight");
        for (int i = 0; i < c.Layers; i++)
        {
            var b = model.blocks[i];
            var a = b.attn;
            string h = $"h.{i}.";
            Set(b.ln_1.weight, h + "ln_1.weight"); Set(b.ln_1.bias, h + "ln_1.bias");
            var weight = tensors[h + "attn.c_attn.weight"].Tensor.t();                // (3d, d): rows q, then k, then v
            var bias = tensors[h + "attn.c_attn.bias"].Tensor;                        // (3d)
            a.q_proj.weight!.copy_(weight.narrow(0, 0, d)); a.q_proj.bias!.copy_(bias.narrow(0, 0, d));
            a.k_proj.weight!.copy_(weight.narrow(0, d, d)); a.k_proj.bias!.copy_(bias.narrow(0, d, d));
            a.v_proj.weight!.copy_(weight.narrow(0, 2 * d, d)); a.v_proj.bias!.copy_(bias.narrow(0, 2 * d, d));
            Set(a.o_proj.weight, h + "attn.c_proj.weight", transpose: true); Set(a.o_proj.bias, h + "attn.c_proj.bias");
            Set(b.ln_2.weight, h + "ln_2.weight"); Set(b.ln_2.bias, h + "ln_2.bias");
            Set(b.mlp.fc.weight, h + "mlp.c_fc.weight", transpose: true); Set(b.mlp.fc.bias, h + "mlp.c_fc.bias");
            Set(b.mlp.proj.weight, h + "mlp.c_proj.weight", transpose: true); Set(b.mlp.proj.bias, h + "mlp.c_proj.bias");
        }
        Set(model.ln_f.weight, "ln_f.weight");
        Set(model.ln_f.bias, "ln_f.bias");
        if (model.lm_head is { } head) Set(head.weight, LmHead);
    }

    static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return string.Join(", ", list.Take(6).Select(n => $"'{n}'")) + (list.Count > 6 ? $" and {list.Count - 6} more" : "");
    }
}
