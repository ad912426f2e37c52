namespace EfficientML.Interactive.Tests;

/// <summary>One loaded kernel shared by the tests of a class (starting a C# kernel takes seconds).</summary>
public sealed class KernelFixture : IAsyncLifetime
{
    TestKernel? _kernel;

    internal TestKernel Kernel => _kernel ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _kernel = await TestKernel.StartAsync();

    public Task DisposeAsync()
    {
        _kernel?.Dispose();
        return Task.CompletedTask;
    }
}
