using EfficientML.Core;
using TorchSharp;

namespace EfficientML.Tests;

public class RuntimeSettingsTests
{
    [Fact]
    public void Cpu_and_auto_resolve_to_a_device_and_nonsense_is_explained()
    {
        Assert.Equal(DeviceType.CPU, Devices.Choose("cpu").type);
        Assert.Equal(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, Devices.Choose(null).type);
        Assert.Contains("Use 'cpu', 'cuda'", Assert.Throws<InvalidSettingsException>(() => Devices.Choose("tpu")).Message);
        if (!torch.cuda.is_available())
            Assert.Contains("EfficientMLCuda=true", Assert.Throws<InvalidSettingsException>(() => Devices.Choose("cuda")).Message);
    }

    [Fact]
    public void The_thread_count_can_be_set_and_must_be_positive()
    {
        int before = TorchThreads.Current;
        TorchThreads.Set(1);
        Assert.Equal(1, TorchThreads.Current);
        Assert.Throws<InvalidSettingsException>(() => TorchThreads.Set(0));
        TorchThreads.Set(before);
    }

    [Fact]
    public void Seeding_makes_random_tensors_repeat()
    {
        Seeding.Everything(42);
        using var a = torch.randn(5);
        Seeding.Everything(42);
        using var b = torch.randn(5);
        Assert.True(TestModels.Same(a, b));
    }

    [Fact]
    public void The_datasets_folder_is_found_from_the_test_output()
    {
        Assert.True(File.Exists(ProjectPaths.Dataset("text", "moby-dick.txt.gz")));
    }
}
