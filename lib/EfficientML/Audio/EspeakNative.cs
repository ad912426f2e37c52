using EfficientML.Core;
using System.Runtime.InteropServices;

namespace EfficientML.Audio;

/// <summary>One event espeak-ng reports with the audio (speak_lib.h's espeak_EVENT, 64-bit layout).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct EspeakEvent
{
    public int Type;
    public uint UniqueIdentifier;
    public int TextPosition;
    public int Length;
    public int AudioPosition;        // milliseconds
    public int Sample;
    public IntPtr UserData;
    public fixed byte Id[8];         // union: number, name pointer or up to 8 bytes of phoneme name
}

/// <summary>
/// The few functions of <c>libespeak-ng.so.1</c> the synthesizer needs, bound at run time so that a machine without
/// espeak-ng still loads the library (and gets one clear message when it asks for speech).
/// </summary>
internal sealed unsafe class EspeakNative
{
    public const int AudioOutputSynchronous = 2;
    public const int InitializePhonemeEvents = 0x0001;
    public const int InitializePhonemeIpa = 0x0002;
    public const int InitializeDontExit = 0x8000;
    public const int CharsUtf8 = 1;
    public const int PositionCharacter = 1;
    public const int EventListTerminated = 0, EventPhoneme = 7;
    public const int ParameterRate = 1, ParameterVolume = 2, ParameterPitch = 3, ParameterRange = 4;

    public readonly delegate* unmanaged<int, int, byte*, int, int> Initialize;
    public readonly delegate* unmanaged<delegate* unmanaged<short*, int, EspeakEvent*, int>, void> SetSynthCallback;
    public readonly delegate* unmanaged<byte*, int> SetVoiceByName;
    public readonly delegate* unmanaged<int, int, int, int> SetParameter;
    public readonly delegate* unmanaged<byte*, nuint, uint, int, uint, uint, uint*, void*, int> Synth;
    public readonly delegate* unmanaged<int> Synchronize;
    public readonly delegate* unmanaged<void**, int, int, byte*> TextToPhonemes;
    public readonly delegate* unmanaged<int> Terminate;

    readonly IntPtr _handle;

    EspeakNative(IntPtr handle)
    {
        _handle = handle;
        Initialize = (delegate* unmanaged<int, int, byte*, int, int>)Export(handle, "espeak_Initialize");
        SetSynthCallback = (delegate* unmanaged<delegate* unmanaged<short*, int, EspeakEvent*, int>, void>)Export(handle, "espeak_SetSynthCallback");
        SetVoiceByName = (delegate* unmanaged<byte*, int>)Export(handle, "espeak_SetVoiceByName");
        SetParameter = (delegate* unmanaged<int, int, int, int>)Export(handle, "espeak_SetParameter");
        Synth = (delegate* unmanaged<byte*, nuint, uint, int, uint, uint, uint*, void*, int>)Export(handle, "espeak_Synth");
        Synchronize = (delegate* unmanaged<int>)Export(handle, "espeak_Synchronize");
        TextToPhonemes = (delegate* unmanaged<void**, int, int, byte*>)Export(handle, "espeak_TextToPhonemes");
        Terminate = (delegate* unmanaged<int>)Export(handle, "espeak_Terminate");
    }

    static IntPtr Export(IntPtr handle, string name) =>
        NativeLibrary.TryGetExport(handle, name, out var address)
            ? address
            : throw new EspeakNotFoundException($"The espeak-ng library has no function {name}: install a current espeak-ng (Debian package espeak-ng, 1.51 or later).");

    /// <summary>The file this library was loaded from (through dladdr), or null when the loader does not say.</summary>
    public string? FileName
    {
        get
        {
            DlInfo info;
            return dladdr(Initialize, &info) != 0 && info.FileName != null ? Marshal.PtrToStringUTF8((IntPtr)info.FileName) : null;
        }
    }

    /// <summary>Unloads the library (after <see cref="Terminate"/>).</summary>
    public void Free() => NativeLibrary.Free(_handle);

    struct DlInfo
    {
        public byte* FileName;
        public void* FileBase;
        public byte* SymbolName;
        public void* SymbolAddress;
    }

    [DllImport("libc", EntryPoint = "dladdr")]
    static extern int dladdr(void* address, DlInfo* info);

    /// <summary>Loads the library from <paramref name="path"/> (a file, or a name the system loader searches).</summary>
    public static EspeakNative Load(string path)
    {
        if (!NativeLibrary.TryLoad(path, out var handle))
            throw new EspeakNotFoundException(
                $"espeak-ng was not found (tried to load '{path}'). Install the Debian package espeak-ng " +
                "(sudo apt-get install espeak-ng), which provides libespeak-ng.so.1, then restart the kernel.");
        return new EspeakNative(handle);
    }
}

/// <summary>espeak-ng is missing or unusable; the message says what to install.</summary>
public sealed class EspeakNotFoundException : EfficientMLException
{
    /// <summary>Creates the exception with its message.</summary>
    public EspeakNotFoundException(string message) : base(message) { }
}
