using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Distributed;

/// <summary>
/// How a group of workers (threads of one process, or MPI processes on one or many machines) exchange tensors. Buffers are
/// contiguous float32 (or float64) tensors on the CPU, sent and received in place: a sent buffer must not change until its transfer is
/// waited for, a received one is filled directly. Collectives are called by every rank of the group in the same order.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This worker's index, 0 … <see cref="Size"/>−1.</summary>
    int Rank { get; }

    /// <summary>Workers in the group.</summary>
    int Size { get; }

    /// <summary>"in-process" or "MPI".</summary>
    string Transport { get; }

    /// <summary>Starts sending <paramref name="buffer"/> to rank <paramref name="to"/>; returns at once.</summary>
    ITransfer Send(Tensor buffer, int to, int tag);

    /// <summary>Starts receiving into <paramref name="buffer"/> (exactly as many values as the sender sends) from <paramref name="from"/>.</summary>
    ITransfer Receive(Tensor buffer, int from, int tag);

    /// <summary>Replaces <paramref name="buffer"/> on every rank by the element-wise sum over ranks (the same values on all).</summary>
    void AllReduceSum(Tensor buffer);

    /// <summary>
    /// Every rank contributes <paramref name="mine"/> (<paramref name="counts"/>[rank] values) and receives all
    /// contributions, in rank order, into <paramref name="all"/> (the sum of <paramref name="counts"/> values).
    /// </summary>
    void AllGather(Tensor mine, Tensor all, IReadOnlyList<int> counts);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();

    /// <summary>Seconds on a clock every rank of the group reads alike (for timelines).</summary>
    double Seconds { get; }
}

/// <summary>A send or receive in flight.</summary>
public interface ITransfer
{
    /// <summary>Blocks until the buffer may be reused (send) or holds the data (receive).</summary>
    void Wait();
}

/// <summary>Checks shared by the transports.</summary>
internal static class Buffers
{
    /// <summary>Throws one clear message unless <paramref name="t"/> is a contiguous float32 or float64 CPU tensor; returns its size.</summary>
    public static int Check(Tensor t, string what)
    {
        if (t.dtype is not (ScalarType.Float32 or ScalarType.Float64) || t.device_type != TorchSharp.DeviceType.CPU || !t.is_contiguous())
            throw new InvalidSettingsException(
                $"{what} must be a contiguous float32 (or float64) tensor on the CPU (got {t.dtype} on {t.device}{(t.is_contiguous() ? "" : ", not contiguous")}): " +
                "call .contiguous() or .to(float32, CPU) first.");
        long n = t.numel();
        if (n > int.MaxValue) throw new InvalidSettingsException($"{what} holds {n:N0} values; send it in parts of at most {int.MaxValue:N0}.");
        return (int)n;
    }

    /// <summary>Throws unless <paramref name="rank"/> is another member of a group of <paramref name="size"/>.</summary>
    public static void CheckPeer(int rank, int self, int size)
    {
        if (rank < 0 || rank >= size || rank == self)
            throw new InvalidSettingsException($"Rank {self} cannot exchange with rank {rank}: peers are 0 … {size - 1}, other than itself.");
    }
}
