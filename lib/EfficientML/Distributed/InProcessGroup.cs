using System.Collections.Concurrent;
using System.Diagnostics;
using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Distributed;

/// <summary>
/// A group of workers as threads of this process, one per rank, exchanging tensors through mailboxes: the transport for
/// teaching, notebooks and tests, with the same <see cref="ICommunicator"/> as MPI. When one worker fails, the others
/// stop waiting and the first failure is rethrown.
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
                using var scope = NewDisposeScope();
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
        public readonly ConcurrentDictionary<(int From, int To, int Tag), BlockingCollection<Message>> Mailboxes = new();
        public readonly Barrier Barrier = new(size);
        public readonly Tensor?[] Slots = new Tensor?[size];
        public readonly Stopwatch Clock = Stopwatch.StartNew();

        public BlockingCollection<Message> Mailbox(int from, int to, int tag) => Mailboxes.GetOrAdd((from, to, tag), _ => new());

        public void Meet() => Barrier.SignalAndWait(Abort.Token);
    }

    sealed class Message(Tensor buffer)
    {
        public readonly Tensor Buffer = buffer;
        public readonly ManualResetEventSlim Copied = new();
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
            var message = new Message(buffer);
            shared.Mailbox(rank, to, tag).Add(message, shared.Abort.Token);
            return new Transfer(() => message.Copied.Wait(shared.Abort.Token));
        }

        public ITransfer Receive(Tensor buffer, int from, int tag)
        {
            int n = Buffers.Check(buffer, "A receive buffer");
            Buffers.CheckPeer(from, rank, Size);
            var box = shared.Mailbox(from, rank, tag);
            return new Transfer(() =>
            {
                var message = box.Take(shared.Abort.Token);
                if (message.Buffer.numel() != n)
                    throw new EfficientMLException($"Rank {rank} expected {n:N0} values from rank {from} (tag {tag}) but {message.Buffer.numel():N0} were sent.");
                buffer.view(-1).copy_(message.Buffer.view(-1));
                message.Copied.Set();
            });
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
