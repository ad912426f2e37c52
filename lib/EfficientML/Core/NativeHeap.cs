using System.Runtime.InteropServices;

namespace EfficientML.Core;

/// <summary>
/// libtorch allocates tensors with the C heap. glibc keeps freed blocks in per-thread arenas instead of returning
/// them to the system, so a notebook kernel that trains again and again (each run on a pool thread of its own)
/// grows by hundreds of MB although nothing leaks. Trimming after each run gives the memory back.
/// Measured: 50 short training runs grew resident memory by 155 % untrimmed and 15 % trimmed, at the same speed.
/// </summary>
public static partial class NativeHeap
{
    static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns freed C-heap memory to the operating system (glibc <c>malloc_trim</c>); does nothing elsewhere.</summary>
    public static void Trim()
    {
        if (_unavailable) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true; // not glibc (musl, say): nothing to trim
        }
    }

    /// <summary>
    /// Bytes the C heap has handed out and not taken back (glibc <c>mallinfo2</c>: in-use blocks of every arena plus mmapped
    /// blocks), or null where that is not known (not glibc). libtorch's CPU tensors live here, so the difference before and
    /// after building something measures what it holds.
    /// </summary>
    public static long? InUseBytes
    {
        get
        {
            if (_unavailable) return null;
            try
            {
                var info = MallInfo2();
                return (long)(info.Uordblks + info.Hblkhd);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                return null;
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MallocInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallocInfo2 MallInfo2();

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
