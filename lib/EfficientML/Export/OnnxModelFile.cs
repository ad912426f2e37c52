using EfficientML.Core;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EfficientML.Export;

/// <summary>What every ONNX file this project writes shares: opset 17, its IR version, the configuration in the metadata, and an atomic write.</summary>
internal static class OnnxModelFile
{
    /// <summary>ONNX operator set of every graph (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    /// <summary>ONNX IR version written (the one that goes with opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>Metadata key holding the model's configuration JSON.</summary>
    public const string ConfigKey = "efficientml.config";

    /// <summary>A model around <paramref name="graph"/>, produced by this library, with <paramref name="configJson"/> in its metadata.</summary>
    public static ModelProto Model(GraphProto graph, string docString, string configJson)
    {
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "EfficientML",
            ProducerVersion = typeof(OnnxModelFile).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = docString,
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = ConfigKey, Value = configJson });
        return proto;
    }

    /// <summary>Writes <paramref name="proto"/> to <paramref name="path"/> (a temporary file, then a rename); returns the file's size in bytes.</summary>
    public static long Write(ModelProto proto, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        var temp = path + ".partial";
        using (var stream = File.Create(temp)) proto.WriteTo(stream);
        File.Move(temp, path, overwrite: true);
        return new FileInfo(path).Length;
    }

    /// <summary>
    /// An ONNX Runtime session for <paramref name="path"/> on the CPU with <paramref name="threads"/> intra-op threads; a
    /// missing or unreadable file gives one message that names <paramref name="exporter"/> as the way to make it.
    /// </summary>
    public static InferenceSession Open(string path, int threads, string exporter)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (threads < 1) throw new InvalidSettingsException($"ONNX Runtime needs at least one thread (got {threads}).");
        InputFiles.Length(path, "ONNX model", minimumBytes: 1,
            missing: p => new MissingFileException($"No ONNX model at '{Path.GetFullPath(p)}'. Export one with {exporter} first.", p),
            tooShort: (p, _) => new InvalidFileException($"'{p}' is empty, or not a regular file (a pipe or a device): it holds no ONNX model. Re-export it with {exporter}."));
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidFileException($"ONNX Runtime cannot load '{path}': {Describe(e)}. Re-export it with {exporter}.", e);
        }
    }

    /// <summary>
    /// The graph of <paramref name="path"/>, read again as a protobuf (ONNX Runtime keeps its own copy private), so a
    /// loader can compare its initializers with the configuration in its metadata. Text that is not UTF-8, which ONNX
    /// Runtime does not check, is an <see cref="InvalidSettingsException"/>.
    /// </summary>
    public static Onnx.GraphProto ReadGraph(string path)
    {
        try { return Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph; }
        catch (Google.Protobuf.InvalidProtocolBufferException) { throw new InvalidSettingsException("a name or text in it is not valid UTF-8"); }
    }

    /// <summary>
    /// ONNX Runtime's complaint in words: its status code as a phrase, then its own text without the code, the path
    /// it repeats, C++ source locations and function signatures (which tell a user nothing they can act on).
    /// </summary>
    public static string Describe(OnnxRuntimeException e)
    {
        var text = e.Message;
        var code = System.Text.RegularExpressions.Regex.Match(text, @"\[ErrorCode:(\w+)\]").Groups[1].Value;
        string what = code switch
        {
            "InvalidProtobuf" => "it is not a readable ONNX file (cut short, damaged, or another kind of file)",
            "InvalidGraph" => "its graph is not a valid ONNX graph",
            "InvalidArgument" => "its graph or a tensor in it is not well formed",
            "NoModel" or "NoSuchFile" => "there is no model in it",
            "NotImplemented" => "it uses an operation this ONNX Runtime does not implement",
            _ => "it is damaged or not a model this library exported",
        };
        var detail = Clean(text);
        return detail.Length == 0 ? what : $"{what} ({detail})";
    }

    static string Clean(string text)
    {
        var s = text;
        foreach (var (pattern, replacement) in new[]
        {
            (@"\[ErrorCode:\w+\]\s*", ""),
            (@"\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*", ""),
            (@"Load model from \S+ failed:\s*", ""),
            (@"system error number 40", "a symbolic link that loops"),
            (@"system error number (\d+)", "the operating system refused to open it"),
            (@"\S*/?[\w.-]+\.(cc|cpp|cxx|h|hpp):\d+\s+", ""),                       // a C++ source location
            (@"\b(void|bool|int|auto|static|const)\s+(?=[\w~]+(::[\w~<>]+)+)", ""),
            (@"[\w~]+(::[\w~<>]+)+(\([^()]*(\([^()]*\)[^()]*)*\))?( const)?\s*", ""), // a C++ function or signature
            (@"\bStatus Message:\s*", ""),
            (@"\bException during initialization:\s*", ""),
            (@"\b[A-Z][a-z]+(?:[A-Z][a-z]*){3,}\s+(?=Initializer|Node|Input|Output)", ""),  // the checking function's name
            (@"\s+", " "),
        })
            s = System.Text.RegularExpressions.Regex.Replace(s, pattern, replacement);
        s = s.Trim().TrimEnd('.');
        return s.Length > 240 ? s[..240] + " …" : s;
    }
}
