using EfficientML.Core;
using TorchSharp;

namespace EfficientML.Tests;

public class TorchRuntimeTests
{
    [Fact]
    public void TorchSharp_initialises_and_computes_on_this_machine()
    {
        TorchNative.EnsureLoaded();
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var product = a.matmul(a.t());
        Assert.Equal(new long[] { 2, 2 }, product.shape);
        Assert.Equal(50f, product[1, 1].item<float>());      // 3² + 4² + 5²
        Assert.StartsWith("2.10", torch.__version__);
    }

    [Fact]
    public void The_loaded_native_library_has_the_glibcxx_requirement_weak_where_the_system_lacks_it()
    {
        TorchNative.EnsureLoaded();
        var path = TorchNative.LoadedFrom ?? Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var bytes = File.ReadAllBytes(path);
        var before = (byte[])bytes.Clone();
        bool required = ElfWeakVersion.MarkWeak(bytes, ElfWeakVersion.Glibcxx);
        if (required && !ElfWeakVersion.SystemLibstdcxxHas(ElfWeakVersion.Glibcxx))
            Assert.Equal(before, bytes); // already weak: marking again changes nothing
    }

    [Fact]
    public void Marking_a_version_weak_sets_only_that_flag()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var original = File.ReadAllBytes(source);
        var patched = (byte[])original.Clone();
        Assert.True(ElfWeakVersion.MarkWeak(patched, "GLIBCXX_3.4.30"));
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.InRange(changed.Count, 1, 2); // the vna_flags half-word of one entry
        Assert.False(ElfWeakVersion.MarkWeak((byte[])original.Clone(), "NO_SUCH_VERSION_1.0"));
    }
}
