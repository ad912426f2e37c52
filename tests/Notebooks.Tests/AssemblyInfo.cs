// Formatter registrations and the current directory are process-global: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
