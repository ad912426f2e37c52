using EfficientML.Core;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;

namespace EfficientML.Interactive;

/// <summary>
/// Runs a magic command's body and turns mistakes a user can make (every <see cref="EfficientMLException"/>: bad options,
/// missing or broken files, invalid configurations, a diverged run) into one failure message without a stack trace;
/// the kernel and its variables live on.
/// </summary>
static class MagicRunner
{
    public static async Task RunAsync(KernelCommand command, KernelInvocationContext context, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (EfficientMLException e)
        {
            context.Fail(command, message: e.Message);
        }
    }
}
