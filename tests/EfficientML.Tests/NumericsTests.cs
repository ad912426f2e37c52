using EfficientML.Core;
using EfficientML.Core.Numerics;

namespace EfficientML.Tests;

[Trait("Category", "Invariant")]
public class NumericsTests
{
    [Fact]
    public void Every_float32_check_agrees_with_float64_as_this_process_runs()
    {
        var report = NumericsSelfTest.Run();
        Assert.True(report.Passed, string.Join("\n", report.Failures) + "\n" + NumericsGuard.Startup.Explanation);
        Assert.Contains(report.Checks, c => c.Operation == "conv1d forward" && c.Shape.StartsWith("40→32", StringComparison.Ordinal));
        Assert.Contains(report.Checks, c => c.Operation == "matmul");
        Assert.Contains(report.Checks, c => c.Operation == "attention");
    }

    [Fact]
    public void The_startup_check_switches_onednn_off_exactly_where_its_convolutions_are_wrong()
    {
        var startup = NumericsGuard.Startup;
        Assert.True(OneDnn.SwitchAvailable || !OperatingSystem.IsLinux(), "libtorch_cpu should export the oneDNN switch on Linux");
        if (!OneDnn.SwitchAvailable || startup.Mode != "auto") return; // forced on or off: nothing was decided
        var kept = OneDnn.Enabled;
        try
        {
            OneDnn.Enabled = true;
            var withOneDnn = NumericsSelfTest.Run();
            // The check must see the fault every time it is there, and must not switch oneDNN off where it is right.
            Assert.Equal(startup.OneDnnSwitchedOff, withOneDnn.ConvolutionFailed);
            Assert.Equal(!startup.OneDnnSwitchedOff, kept);
            if (startup.OneDnnSwitchedOff)
            {
                Assert.NotNull(startup.WithOneDnn);
                Assert.True(startup.WithOneDnn!.ConvolutionFailed);
            }
        }
        finally { OneDnn.Enabled = kept; }
        Assert.True(NumericsSelfTest.Run().Passed);
    }

    [Fact]
    public void A_failed_check_names_the_operation_the_shape_and_the_fix()
    {
        var wrong = new NumericsCheck("conv1d forward", "23→33 channels, kernel 7, batch 5, 41 frames", double.NaN, 3.8, NumericsSelfTest.Tolerance);
        var right = new NumericsCheck("matmul", "(64×384) @ (384×128)", 3e-5, 74, NumericsSelfTest.Tolerance);
        Assert.False(wrong.Passed);
        Assert.True(right.Passed);
        var advice = NumericsGuard.Advice(new NumericsReport([right, wrong], OneDnnEnabled: true, TimeSpan.Zero));
        Assert.Contains("conv1d forward", advice);
        Assert.Contains("23→33 channels, kernel 7", advice);
        Assert.Contains("unset EFFICIENTML_ONEDNN", advice);
        var other = NumericsGuard.Advice(new NumericsReport([wrong with { Operation = "attention" }], OneDnnEnabled: false, TimeSpan.Zero));
        Assert.Contains("ATEN_CPU_CAPABILITY=default", other);
        Assert.False(new NumericsCheck("linear", "x", 1e-3, 1.0, NumericsSelfTest.Tolerance).Passed); // relative, not absolute
        Assert.True(new NumericsCheck("linear", "x", 1e-3, 100.0, NumericsSelfTest.Tolerance).Passed);
    }

    [Fact]
    public void The_report_names_the_cpu_atens_capability_and_onednn()
    {
        var environment = NumericsEnvironment.Collect();
        Assert.NotEmpty(environment.Cpu.Name);
        Assert.Contains("default", environment.Cpu.AtenCapabilities);
        if (environment.AtenCapability != null)
            Assert.Contains(environment.AtenCapability, environment.Cpu.AtenCapabilities);
        var setting = Environment.GetEnvironmentVariable(AtenCapability.EnvironmentVariable);
        if (!string.IsNullOrEmpty(setting) && environment.AtenCapability != null)
            Assert.Equal(setting.ToLowerInvariant(), environment.AtenCapability);
        var text = environment.ToText();
        foreach (var expected in new[] { "CPU", "ATen capability", "oneDNN", "NNPACK", "conv1d forward", "attention" })
            Assert.Contains(expected, text);
    }

    [Fact]
    public void Checking_leaves_the_global_random_stream_alone()
    {
        Seeding.Everything(7);
        var expected = TorchSharp.torch.rand(4).data<float>().ToArray();
        Seeding.Everything(7);
        NumericsSelfTest.Run();
        Assert.Equal(expected, TorchSharp.torch.rand(4).data<float>().ToArray());
    }
}
