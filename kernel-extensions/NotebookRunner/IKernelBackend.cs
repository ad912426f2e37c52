namespace NotebookRunner;

/// <summary>A kernel that runs one notebook's cells in order, sharing state between them.</summary>
internal interface IKernelBackend : IAsyncDisposable
{
    /// <summary>Short name for progress lines and the page header.</summary>
    string Name { get; }

    /// <summary>Starts the kernel with <paramref name="notebookDirectory"/> as its working directory.</summary>
    Task StartAsync(string notebookDirectory, CancellationToken cancellationToken);

    /// <summary>
    /// Runs one cell. Cancelling (timeout, Ctrl+C) leaves the kernel unusable: the caller stops and disposes it.
    /// </summary>
    Task<CellOutcome> RunCellAsync(string code, string kernelName, ICellOutputSink sink, CancellationToken cancellationToken);
}
