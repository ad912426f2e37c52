namespace NotebookRunner;

/// <summary>A mistake on the command line; the CLI prints the message and exits with code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
