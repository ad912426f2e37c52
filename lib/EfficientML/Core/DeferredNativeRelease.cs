using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using HarmonyLib;
using TorchSharp;

namespace EfficientML.Core;

/// <summary>
/// Makes TorchSharp's finalizers safe. TorchSharp 0.107 frees the native object of a <see cref="Scalar"/> or a tensor that
/// was never disposed from the GC's finalizer thread, and its operations pass native handles without keeping their owners
/// alive: every <c>x + 1</c> makes a scalar (and an alpha of 1) that is unreachable while the native addition still reads
/// it. When a garbage collection lands in that window (likelier when other threads allocate: two trainings racing, a
/// notebook kernel), the finalizer frees the scalar mid-operation: "Unknown scalar type", failed internal checks, wrong
/// numbers or a crash. Measured: 3 to 489 failures in 10⁶–2×10⁶ additions with another thread allocating, none with this.
/// <para>
/// The guard replaces the two finalizers (at run time, with Harmony) by a queue: the native object is freed by a timer
/// at least <see cref="Delay"/> later, when no operation can still be reading it. Explicit <c>Dispose</c> and dispose
/// scopes are untouched and free at once, as before.
/// </para>
/// </summary>
public static class DeferredNativeRelease
{
    /// <summary>Environment variable: <c>off</c> leaves TorchSharp's finalizers as they are (to measure the difference).</summary>
    public const string EnvironmentVariable = "EFFICIENTML_FINALIZER_GUARD";

    /// <summary>How long a finalized object's native memory waits before it is freed.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    static readonly object Gate = new();
    static readonly ConcurrentQueue<(IntPtr Handle, bool IsTensor, long Due)> Queue = new();
    static AccessTools.FieldRef<Scalar, IntPtr>? _scalarHandle;
    static AccessTools.FieldRef<torch.Tensor, IntPtr>? _tensorHandle;
    static Timer? _timer;
    static long _deferred, _released;

    /// <summary>True once the finalizers are guarded; false where patching is not possible (then <see cref="Problem"/> says why).</summary>
    public static bool Active { get; private set; }

    /// <summary>Why the guard could not be installed, or null.</summary>
    public static string? Problem { get; private set; }

    /// <summary>Objects whose native memory a finalizer handed over so far, and how many of them are freed.</summary>
    public static (long Deferred, long Released) Counts => (Interlocked.Read(ref _deferred), Interlocked.Read(ref _released));

    /// <summary>Installs the guard once per process (harmless to call again).</summary>
    internal static void Install()
    {
        lock (Gate)
        {
            if (Active || Problem != null) return;
            if (string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim(), "off", StringComparison.OrdinalIgnoreCase))
            {
                Problem = $"switched off by {EnvironmentVariable}=off";
                return;
            }
            try
            {
                _scalarHandle = AccessTools.FieldRefAccess<Scalar, IntPtr>("handle");
                _tensorHandle = AccessTools.FieldRefAccess<torch.Tensor, IntPtr>("handle");
                var harmony = new Harmony("EfficientML.DeferredNativeRelease");
                Patch(harmony, typeof(Scalar), nameof(ScalarFinalizer));
                Patch(harmony, typeof(torch.Tensor), nameof(TensorFinalizer));
                _timer = new Timer(_ => ReleaseDue(), null, Delay, Delay);
                Active = true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Problem = $"TorchSharp's finalizers could not be guarded ({e.GetType().Name}: {e.Message}); rare crashes or wrong values remain possible when tensors are left to the garbage collector.";
            }
        }
    }

    static void Patch(Harmony harmony, Type type, string prefix)
    {
        var finalizer = type.GetMethod("Finalize", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            ?? throw new MissingMethodException(type.FullName, "Finalize");
        harmony.Patch(finalizer, prefix: new HarmonyMethod(typeof(DeferredNativeRelease).GetMethod(prefix, BindingFlags.Static | BindingFlags.NonPublic)));
    }

    // Harmony prefixes: take the handle, so the original finalizer finds nothing to free, and queue it.
    static bool ScalarFinalizer(Scalar __instance)
    {
        ref var handle = ref _scalarHandle!(__instance);
        Defer(ref handle, isTensor: false);
        return false;
    }

    static bool TensorFinalizer(torch.Tensor __instance)
    {
        ref var handle = ref _tensorHandle!(__instance);
        Defer(ref handle, isTensor: true);
        return false;
    }

    static void Defer(ref IntPtr handle, bool isTensor)
    {
        if (handle == IntPtr.Zero) return;
        Queue.Enqueue((handle, isTensor, Environment.TickCount64 + (long)Delay.TotalMilliseconds));
        handle = IntPtr.Zero;
        Interlocked.Increment(ref _deferred);
    }

    static void ReleaseDue()
    {
        long now = Environment.TickCount64;
        while (Queue.TryPeek(out var next) && next.Due <= now && Queue.TryDequeue(out next))
        {
            if (next.IsTensor) THSTensor_dispose(next.Handle);
            else THSTorch_dispose_scalar(next.Handle);
            Interlocked.Increment(ref _released);
        }
    }

    /// <summary>
    /// The failure this guards against, provoked: <paramref name="iterations"/> small additions (a scalar and an alpha each)
    /// while another thread allocates managed memory, so garbage collections land mid-operation. Returns how many
    /// threw or gave a wrong value (with the guard: none).
    /// </summary>
    public static (int Errors, int Wrong, TimeSpan Elapsed) Stress(int iterations)
    {
        TorchNative.EnsureLoaded();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var noise = new Thread(() =>
        {
            var garbage = new List<byte[]>();
            while (!stop.IsCancellationRequested)
            {
                garbage.Add(new byte[256]);
                if (garbage.Count > 2000) garbage.Clear();
            }
        }) { IsBackground = true };
        noise.Start();
        int errors = 0, wrong = 0;
        using var x = torch.ones(64);
        for (int i = 0; i < iterations; i++)
        {
            using var scope = torch.NewDisposeScope();
            try
            {
                var y = (x + 1) * 2.0;
                if (y[0].item<float>() != 4f) wrong++;
            }
            catch (ExternalException) { errors++; }
        }
        stop.Cancel();
        noise.Join();
        return (errors, wrong, clock.Elapsed);
    }

    [DllImport("LibTorchSharp")] static extern void THSTorch_dispose_scalar(IntPtr handle);
    [DllImport("LibTorchSharp")] static extern void THSTensor_dispose(IntPtr handle);
}
