using System.Collections.Concurrent;
using System.Diagnostics;
using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Distributed;

/// <summary>
/// A group of workers as threads of this process, one per rank, exchanging tensors through mailboxes: the transport for
/// teaching, notebooks and tests, with the same <see cref="ICommunicator"/> as MPI. When one worker fails, the others
/// stop waiting and the first failure is rethrown. Tensors a worker makes are its own to dispose (or to return).
/// </summary>
public static class InProcessGroup
{
    /// <summary>Most workers a group may have.</summary>
    public const int MaxWorkers = 64;

    /// <summary>Runs <paramref name="work"/> on <paramref name="size"/> threads (rank 0 … size−1) and returns each rank's result.</summary>
    public static T[] Run<T>(int size, Func<ICommunicator, T> work)
    {
        if (size < 1 || size > MaxWorkers) throw new InvalidSettingsException($"A group needs 1 to {MaxWorkers} workers (got {size}).");
        var shared = new Shared(size);
        var results = new T[size];
        var failures = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try
            {
                // No dispose scope here: what a worker returns (a model, a cache) must outlive its thread.
                using var communicator = new Member(shared, rank);
                results[rank] = work(communicator);
            }
            catch (Exception e)
            {
                failures[rank] = e;
                shared.Abort.Cancel();
            }
        }, maxStackSize: 16 << 20) { IsBackground = true, Name = $"worker {rank}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        var first = failures.FirstOrDefault(f => f is not null and not OperationCanceledException) ?? failures.FirstOrDefault(f => f != null);
        if (first != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        return results;
    }

    sealed class Shared(int size)
    {
        public readonly int Size = size;
        public readonly CancellationTokenSource Abort = new();
        public readonly ConcurrentDictionary<(int From, int To, int Tag), Channel> Channels = new();
        public readonly Barrier Barrier = new(size);
        public readonly Tensor?[] Slots = new Tensor?[size];
        public readonly Stopwatch Clock = Stopwatch.StartNew();

        public Channel Between(int from, int to, int tag) => Channels.GetOrAdd((from, to, tag), _ => new());

        public void Meet() => Barrier.SignalAndWait(Abort.Token);
    }

    /// <summary>
    /// One direction and tag between two ranks. As with MPI's pre-posted receives, a send that finds a receive waiting
    /// copies straight into its buffer and is done; otherwise it waits for the receive, which then copies.
    /// </summary>
    sealed class Channel
    {
        public readonly Queue<Pending> Sent = new(), Posted = new();
    }

    /// <summary>A send or receive not yet matched: its buffer, and a signal (with an error, if the sizes disagreed).</summary>
    sealed class Pending(Tensor buffer)
    {
        public readonly Tensor Buffer = buffer;
        public readonly ManualResetEventSlim Done = new();
        public string? Error;
    }

    sealed class Member(Shared shared, int rank) : ICommunicator
    {
        public int Rank => rank;
        public int Size => shared.Size;
        public string Transport => "in-process";
        public double Seconds => shared.Clock.Elapsed.TotalSeconds;

        public ITransfer Send(Tensor buffer, int to, int tag)
        {
            Buffers.Check(buffer, "A sent buffer");
            Buffers.CheckPeer(to, rank, Size);
            return Match(shared.Between(rank, to, tag), new Pending(buffer), sending: true, from: rank, to);
        }

        public ITransfer Receive(Tensor buffer, int from, int tag)
        {
            Buffers.Check(buffer, "A receive buffer");
            Buffers.CheckPeer(from, rank, Size);
            return Match(shared.Between(from, rank, tag), new Pending(buffer), sending: false, from, to: rank);
        }

        /// <summary>Pairs <paramref name="mine"/> with the other side's oldest unmatched transfer (copying now), or queues it.</summary>
        Transfer Match(Channel channel, Pending mine, bool sending, int from, int to)
        {
            Pending? other;
            lock (channel)
            {
                var waiting = sending ? channel.Posted : channel.Sent;
                if (!waiting.TryDequeue(out other))
                {
                    (sending ? channel.Sent : channel.Posted).Enqueue(mine);
                    return new Transfer(() =>
                    {
                        mine.Done.Wait(shared.Abort.Token);
                        if (mine.Error != null) throw new EfficientMLException(mine.Error);
                    });
                }
            }
            var (source, target) = sending ? (mine, other) : (other, mine);
            if (source.Buffer.numel() != target.Buffer.numel())
                other.Error = $"Rank {to} expected {target.Buffer.numel():N0} values from rank {from} but {source.Buffer.numel():N0} were sent.";
            else target.Buffer.view(-1).copy_(source.Buffer.view(-1));
            other.Done.Set();
            if (other.Error != null) throw new EfficientMLException(other.Error);
            return Transfer.Finished;
        }

        public void AllReduceSum(Tensor buffer)
        {
            Buffers.Check(buffer, "An all-reduce buffer");
            shared.Slots[rank] = buffer;
            shared.Meet();
            // Every rank adds in rank order, so all get the same float32 values.
            using var sum = shared.Slots[0]!.clone();
            for (int r = 1; r < Size; r++) sum.add_(shared.Slots[r]!);
            shared.Meet();   // everyone has read the inputs
            buffer.copy_(sum);
            shared.Meet();
        }

        public void AllGather(Tensor mine, Tensor all, IReadOnlyList<int> counts)
        {
            Buffers.Check(mine, "An all-gather contribution");
            Buffers.Check(all, "An all-gather destination");
            Gathering.CheckCounts(mine, all, counts, rank, Size);
            shared.Slots[rank] = mine;
            shared.Meet();
            var flat = all.view(-1);
            long offset = 0;
            for (int r = 0; r < Size; r++)
            {
                flat.narrow(0, offset, counts[r]).copy_(shared.Slots[r]!.view(-1));
                offset += counts[r];
            }
            shared.Meet();
        }

        public void Barrier() => shared.Meet();

        public void Dispose() { }
    }

    sealed class Transfer(Action wait) : ITransfer
    {
        public static readonly Transfer Finished = new(() => { }) { _done = true };
        bool _done;
        public void Wait()
        {
            if (_done) return;
            wait();
            _done = true;
        }
    }
}

/// <summary>Argument checks of <see cref="ICommunicator.AllGather"/>.</summary>
internal static class Gathering
{
    public static void CheckCounts(Tensor mine, Tensor all, IReadOnlyList<int> counts, int rank, int size)
    {
        if (counts.Count != size || counts.Any(c => c < 0))
            throw new InvalidSettingsException($"An all-gather needs one non-negative count per rank ({size}); got [{string.Join(", ", counts)}].");
        if (mine.numel() != counts[rank])
            throw new InvalidSettingsException($"Rank {rank} contributes {mine.numel():N0} values to an all-gather that expects {counts[rank]:N0} from it.");
        if (mine.dtype != all.dtype)
            throw new InvalidSettingsException($"An all-gather contribution ({mine.dtype}) and its destination ({all.dtype}) must have one type.");
        if (all.numel() != counts.Sum(c => (long)c))
            throw new InvalidSettingsException($"An all-gather destination of {all.numel():N0} values cannot hold {counts.Sum(c => (long)c):N0}.");
    }
}
