// Formatter registrations and torch's thread setting are process-wide: these tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
