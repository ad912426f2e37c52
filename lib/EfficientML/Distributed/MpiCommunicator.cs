using System.Reflection;
using System.Runtime.InteropServices;
using EfficientML.Core;
using static TorchSharp.torch;
using Native = MPI.Unsafe;

namespace EfficientML.Distributed;

/// <summary>
/// The MPI transport: MPI.NET on the system's MPICH. MPI.NET is built for MS-MPI (<c>msmpi.dll</c>), whose handles are
/// MPICH's, so its imports are resolved to <c>libmpich.so.12</c>. Buffers travel without copies: non-blocking sends and
/// receives read and write the tensors' own memory. One per process (<see cref="World"/>); <see cref="Shutdown"/> ends MPI.
/// </summary>
public sealed class MpiCommunicator : ICommunicator
{
    /// <summary>The message and exit code when the MPI library is missing.</summary>
    public const string InstallHint = "MPI is not installed on this machine: install MPICH with `apt-get install mpich` (Debian/Ubuntu), then try again.";

    static readonly object Gate = new();
    static MpiCommunicator? _world;
    static MPI.Environment? _environment;
    static bool _resolverSet;

    MpiCommunicator(int rank, int size) => (Rank, Size) = (rank, size);

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public string Transport => "MPI";

    /// <inheritdoc />
    public double Seconds => Native.MPI_Wtime();

    /// <summary>Whether this process was started by <c>mpiexec</c> (MPICH's process manager sets PMI_RANK).</summary>
    public static bool Launched => Environment.GetEnvironmentVariable("PMI_RANK") is not null;

    /// <summary>Whether MPICH's library can be loaded here.</summary>
    public static bool Available => NativeLibrary.TryLoad("libmpich.so.12", out _);

    /// <summary>Starts MPI once in this process (a lone process is a group of one) and returns its world group.</summary>
    public static MpiCommunicator World()
    {
        lock (Gate)
        {
            if (_world != null) return _world;
            if (_environment is null && _resolverSet && MPI.Environment.Finalized)
                throw new EfficientMLException("MPI was shut down in this process and cannot start again; start a new process.");
            MapLibrary();
            try
            {
                var args = Environment.GetCommandLineArgs();
                _environment = new MPI.Environment(ref args, MPI.Threading.Serialized);
            }
            catch (DllNotFoundException) { throw new EfficientMLException(InstallHint); }
            var world = MPI.Communicator.world;
            return _world = new MpiCommunicator(world.Rank, world.Size);
        }
    }

    /// <summary>
    /// Ends MPI in this process, if it was started (MPI_Finalize, which waits for every rank): call it once, as a program
    /// using <see cref="World"/> ends, so that no rank leaves early and the process manager does not stop the others.
    /// </summary>
    public static void Shutdown()
    {
        lock (Gate)
        {
            _environment?.Dispose();
            _environment = null;
            _world = null;   // World() after this says MPI cannot start again, instead of handing out a dead group
        }
    }

    static void MapLibrary()
    {
        if (_resolverSet) return;
        NativeLibrary.SetDllImportResolver(typeof(MPI.Communicator).Assembly, (name, _, _) =>
            name.StartsWith("msmpi", StringComparison.OrdinalIgnoreCase)
                ? NativeLibrary.TryLoad("libmpich.so.12", out var handle) ? handle : throw new EfficientMLException(InstallHint)
                : IntPtr.Zero);
        _resolverSet = true;
    }

    /// <inheritdoc />
    public ITransfer Send(Tensor buffer, int to, int tag)
    {
        int n = Buffers.Check(buffer, "A sent buffer");
        Buffers.CheckPeer(to, Rank, Size);
        Check(Native.MPI_Isend(Address(buffer), n, Type(buffer), to, tag, Native.MPI_COMM_WORLD, out int request), "MPI_Isend");
        return new Request(buffer, request);
    }

    /// <inheritdoc />
    public ITransfer Receive(Tensor buffer, int from, int tag)
    {
        int n = Buffers.Check(buffer, "A receive buffer");
        Buffers.CheckPeer(from, Rank, Size);
        Check(Native.MPI_Irecv(Address(buffer), n, Type(buffer), from, tag, Native.MPI_COMM_WORLD, out int request), "MPI_Irecv");
        return new Request(buffer, request);
    }

    /// <inheritdoc />
    public void AllReduceSum(Tensor buffer)
    {
        int n = Buffers.Check(buffer, "An all-reduce buffer");
        using var sum = empty_like(buffer);
        Check(Native.MPI_Allreduce(Address(buffer), Address(sum), n, Type(buffer), Native.MPI_SUM, Native.MPI_COMM_WORLD), "MPI_Allreduce");
        buffer.copy_(sum);
    }

    /// <inheritdoc />
    public void AllGather(Tensor mine, Tensor all, IReadOnlyList<int> counts)
    {
        int n = Buffers.Check(mine, "An all-gather contribution");
        Buffers.Check(all, "An all-gather destination");
        Gathering.CheckCounts(mine, all, counts, Rank, Size);
        var sizes = counts.ToArray();
        var offsets = new int[sizes.Length];
        for (int r = 1; r < sizes.Length; r++) offsets[r] = offsets[r - 1] + sizes[r - 1];
        Check(Native.MPI_Allgatherv(Address(mine), n, Type(mine), Address(all), sizes, offsets, Type(all), Native.MPI_COMM_WORLD), "MPI_Allgatherv");
    }

    /// <inheritdoc />
    public void Barrier() => Check(Native.MPI_Barrier(Native.MPI_COMM_WORLD), "MPI_Barrier");

    /// <summary>MPI stays up until the process ends (it cannot be started twice); nothing to release per use.</summary>
    public void Dispose() { }

    /// <summary>Where a float32 or float64 CPU tensor's first value lies in memory (its storage plus its offset).</summary>
    static IntPtr Address(Tensor t)
    {
        if (t.dtype == ScalarType.Float64)
        {
            using var doubles = t.storage<double>();
            return doubles.data_ptr() + (nint)(t.storage_offset() * sizeof(double));
        }
        using var storage = t.storage<float>();
        return storage.data_ptr() + (nint)(t.storage_offset() * sizeof(float));
    }

    static int Type(Tensor t) => t.dtype == ScalarType.Float64 ? Native.MPI_DOUBLE : Native.MPI_FLOAT;

    static void Check(int code, string call)
    {
        if (code != 0) throw new EfficientMLException($"{call} failed with MPI error {code}.");
    }

    sealed class Request(Tensor buffer, int request) : ITransfer
    {
        int _request = request;
        Tensor? _buffer = buffer;   // held until the transfer completes: MPI reads or writes its memory until then

        public void Wait()
        {
            if (_buffer is null) return;
            Check(Native.MPI_Wait(ref _request, out _), "MPI_Wait");
            _buffer = null;
        }
    }
}
