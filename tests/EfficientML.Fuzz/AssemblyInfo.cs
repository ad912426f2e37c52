// One kernel, one process-wide memory and CPU budget: the fuzzing tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
