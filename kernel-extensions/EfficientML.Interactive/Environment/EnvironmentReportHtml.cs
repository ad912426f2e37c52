namespace EfficientML.Interactive;

/// <summary>The environment report as a two-column table; missing data and models are marked, with what to do.</summary>
static class EnvironmentReportHtml
{
    public static string Render(EnvironmentReport r)
    {
        static string Code(string? text) => $"<code>{Html.Encode(text)}</code>";
        static string Missing(string text) => $"<span style=\"color:#b00020\">{Html.Encode(text)}</span>";
        var rows = new List<(string, string)>
        {
            ("device", Code(r.Device) + " <span style=\"color:#666\">(set EFFICIENTML_DEVICE to cpu, cuda or cuda:N to choose)</span>"),
            ("CUDA", r.CudaAvailable ? $"available, {r.CudaDevices} device(s)" : "not available (CPU build, or no NVIDIA GPU)"),
            ("torch threads", $"{r.TorchThreads} of {r.ProcessorCount} logical processors" + (r.ThreadsSetting is null ? "" : $" (EFFICIENTML_THREADS={Html.Encode(r.ThreadsSetting)})")),
            ("EfficientML", Html.Encode(r.LibraryVersion) + " · extension " + Html.Encode(r.ExtensionVersion)),
            ("TorchSharp", Html.Encode(r.TorchSharpVersion) + " · libtorch " + Html.Encode(r.LibtorchVersion)),
            (".NET", Html.Encode(r.DotNetVersion) + " · " + Html.Encode(r.OperatingSystem)),
            ("datasets", r.DatasetsFolder is null ? Missing(r.DatasetsProblem ?? "not found") : Code(r.DatasetsFolder)),
            ("pretrained model", r.PretrainedModelPath is null ? Missing("unknown (no datasets folder)")
                : r.PretrainedModelBytes is long bytes ? Code(r.PretrainedModelPath) + $" ({Html.Bytes(bytes)})"
                : Code(r.PretrainedModelPath) + " " + Missing("missing: restore it with git checkout -- datasets/models")),
            ("native library", r.NativeLibrary is null ? "loaded by TorchSharp itself" : Code(r.NativeLibrary)),
            ("libtorch", r.LibtorchPath is null ? "—" : Code(r.LibtorchPath)),
            ("working directory", Code(r.WorkingDirectory)),
            ("CPU", Html.Encode(r.Numerics.Cpu.Name) + " · " + Html.Encode(r.Numerics.Cpu.Summary)),
            ("ATen capability", Code(r.Numerics.AtenCapability ?? "unknown") +
                $" <span style=\"color:#666\">(this CPU can run {Html.Encode(string.Join(", ", r.Numerics.Cpu.AtenCapabilities))}; ATEN_CPU_CAPABILITY chooses)</span>"),
            ("oneDNN", Html.Encode(r.Numerics.OneDnnState)),
            ("NNPACK", Html.Encode(r.Numerics.NnpackState)),
            ("float32 check", NumericsCheckCell(r.Numerics.Check)),
        };
        return $"<div class=\"efml-environment\" style=\"{Html.BlockStyle}\"><b>EfficientML environment</b>{Html.KeyValueTable(rows)}</div>";
    }

    /// <summary>The start-up check: green when every float32 result agrees with float64, else each wrong check in red.</summary>
    static string NumericsCheckCell(EfficientML.Core.Numerics.NumericsDecision check)
    {
        var colour = check.Final.Passed ? "#1b7f3b" : "#b00020";
        var failures = string.Concat(check.Final.Failures.Select(f => $"<br><span style=\"color:#b00020\">{Html.Encode(f.ToString())}</span>"));
        return $"<span style=\"color:{colour}\">{(check.Final.Passed ? "passed" : "FAILED")}</span> " +
               $"({check.Final.Checks.Count} operations against float64, {check.Final.Elapsed.TotalMilliseconds:F0} ms) · {Html.Encode(check.Explanation)}{failures}";
    }
}
