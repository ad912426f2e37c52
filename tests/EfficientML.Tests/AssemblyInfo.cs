using Xunit;

// Seeded models draw their initial weights from torch's one global generator: tests running side by side would
// interleave their draws and break "same seed, same numbers". The machines here have two cores, so little is lost.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
