using System.Diagnostics;
using Microsoft.DotNet.Interactive.Commands;
using Xunit.Abstractions;

namespace EfficientML.Interactive.Tests;

/// <summary>An interrupt stops a magic's work whenever it arrives, also before the magic has begun.</summary>
public class CancellationTests(KernelFixture fixture, ITestOutputHelper output) : IClassFixture<KernelFixture>
{
    TestKernel Kernel => fixture.Kernel;

    [Theory]
    // About a minute of work each if nothing stops it.
    [InlineData("#!reparam --model longFold --repeats 100000", new[] { 0, 1, 2, 5, 20, 200, 1000 })]
    [InlineData("#!keywords --speakers 200 --no-cache --name longBuild", new[] { 1, 1000 })]
    public async Task An_interrupt_at_any_moment_stops_the_magic_and_frees_the_kernel(string magic, int[] delaysMs)
    {
        await Kernel.SucceedAsync("var longFold = new EfficientML.Reparam.RepCnn(new EfficientML.Reparam.RepCnnConfig { Classes = 3, Channels = [8, 8] });");
        foreach (int delay in delaysMs)
        {
            var submission = Kernel.SubmitAsync(magic);
            await Task.Delay(delay);
            await Kernel.Root.SendAsync(new Cancel());
            // An interrupt that reaches the kernel before it has scheduled the cell is not seen by the kernel at all
            // (the cell then runs on, and says so); a user interrupts again, and so does this test.
            int interrupts = 1;
            while (await Task.WhenAny(submission, Task.Delay(500)) != submission)
            {
                await Kernel.Root.SendAsync(new Cancel());
                Assert.True(++interrupts < 20, $"{magic}: the cell did not end after {interrupts} interrupts");
            }
            var clock = Stopwatch.StartNew();
            while (Kernel.Session.RunningMagics > 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
            output.WriteLine($"{magic}, interrupted after {delay} ms ({interrupts} interrupt(s)): work stopped {clock.ElapsedMilliseconds} ms after the cell ended");
            Assert.Equal(0, Kernel.Session.RunningMagics);
            // Nor does the magic start late, in a context the interrupt never reached.
            await Task.Delay(300);
            Assert.Equal(0, Kernel.Session.RunningMagics);
            Assert.Equal(2, TestKernel.ReturnValue(await Kernel.SucceedAsync("1 + 1")));
        }
    }
}
