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
            throw new InvalidFileException($"ONNX Runtime cannot load '{path}' (corrupt or not an ONNX model?): {e.Message} Re-export it with {exporter}.", e);
        }
    }
}
