using EfficientML.Core;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;

namespace EfficientML.Interactive;

/// <summary>
/// Runs a magic command's body and turns mistakes a user can make (bad options, missing files, invalid
/// configurations) into one failure message without a stack trace; the kernel and its variables live on.
/// </summary>
static class MagicRunner
{
    public static async Task RunAsync(KernelCommand command, KernelInvocationContext context, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            context.Fail(command, message: e.Message);
        }
    }

    static bool IsUserError(Exception e) =>
        e is MagicException or EfficientMLException or ArgumentException or FileNotFoundException or DirectoryNotFoundException
            or CheckpointException or InvalidDataException or FormatException or Speech.EspeakNotFoundException;
}
