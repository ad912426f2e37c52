using EfficientML.Core;

namespace EfficientML.Interactive.Tests;

public class EnvironmentMagicTests(KernelFixture fixture) : IClassFixture<KernelFixture>
{
    [Fact]
    public async Task Environment_magic_shows_device_threads_versions_and_where_things_are()
    {
        var html = Assert.Single(TestKernel.Html(await fixture.Kernel.SucceedAsync("#!environment")));
        foreach (var expected in new[] { "device", "CUDA", "torch threads", "TorchSharp", "libtorch", ".NET", "datasets", "pretrained model", "native library", "CPU", "ATen capability", "oneDNN", "NNPACK", "float32 check" })
            Assert.Contains(expected, html);
        Assert.Contains(ProjectPaths.Datasets, html);
        Assert.Contains(torch_version(), html);
        Assert.Contains(EfficientML.Core.Numerics.NumericsGuard.Startup.Final.Passed ? "passed" : "FAILED", html);
    }

    [Fact]
    public void Environment_report_is_a_plain_object_for_csharp_code()
    {
        var report = EnvironmentReport.Collect();
        Assert.Equal(Devices.Default.ToString(), report.Device);
        Assert.Equal(TorchThreads.Current, report.TorchThreads);
        Assert.NotNull(report.DatasetsFolder);
        Assert.EndsWith("tinygpt-moby.safetensors", report.PretrainedModelPath);
        Assert.Contains("libtorch", report.LibtorchPath ?? "libtorch (not mapped on this OS)");
    }

    static string torch_version() => TorchSharp.torch.__version__;
}
