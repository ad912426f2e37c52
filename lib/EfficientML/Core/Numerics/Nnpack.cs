namespace EfficientML.Core.Numerics;

/// <summary>
/// NNPACK, a convolution library libtorch tries before its own kernels. On CPUs it does not support, every attempt prints
/// "Could not initialize NNPACK! Reason: Unsupported hardware." (thousands of lines in one training run). Asking once
/// whether it is available prints that line once; where it is not, switching it off stops the attempts. Results do not
/// change: an NNPACK that cannot start was never used.
/// </summary>
public static unsafe class Nnpack
{
    /// <summary>The line written under libtorch's warning where NNPACK is unavailable.</summary>
    public const string Explanation =
        "EfficientML: NNPACK (an optional convolution library) does not run on this CPU, so libtorch's own convolutions are used; " +
        "the warning above is harmless and is printed once.";

    /// <summary>Whether NNPACK runs on this CPU; null when this libtorch does not say.</summary>
    public static bool? Available { get; private set; }

    /// <summary>Asks libtorch whether NNPACK is available and, where it is not, stops libtorch from trying it. Returns the answer.</summary>
    public static bool? SwitchOffWhereUnavailable()
    {
        nint available = TorchNative.LibtorchCpuExport("_ZN2at6native17_nnpack_availableEv"),
            context = TorchNative.LibtorchCpuExport("_ZN2at13globalContextEv"),
            set = TorchNative.LibtorchCpuExport("_ZN2at7Context20setUserEnabledNNPACKEb");
        if (available == 0 || context == 0 || set == 0) return null;
        Available = ((delegate* unmanaged<byte>)available)() != 0;
        if (Available == false)
        {
            ((delegate* unmanaged<nint, byte, void>)set)(((delegate* unmanaged<nint>)context)(), 0);
            // libtorch's own line has just gone to standard error; one more says what it means.
            Console.Error.WriteLine(Explanation);
        }
        return Available;
    }
}
