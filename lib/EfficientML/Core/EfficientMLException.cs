namespace EfficientML.Core;

/// <summary>
/// Something a user can fix: bad settings, a file that is missing or not what it claims, a run that diverged. The
/// message says what went wrong and what to do, and is all a notebook shows (no stack trace); the data and the kernel
/// live on. Every error of the library that a user can cause is one of these; anything else is a bug.
/// </summary>
public class EfficientMLException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Settings a user chose that cannot work: an option, a configuration or an argument out of its range.</summary>
public sealed class InvalidSettingsException(string message) : EfficientMLException(message);

/// <summary>A file or folder that should be there is not (a dataset, a model, a recording).</summary>
public sealed class MissingFileException(string message, string? path = null) : EfficientMLException(message)
{
    /// <summary>The path that was looked for, when there is one.</summary>
    public string? Path { get; } = path;
}

/// <summary>A file that is not what it claims to be: a corrupt or lying header, a wrong format, contents that do not add up.</summary>
public class InvalidFileException(string message, Exception? inner = null) : EfficientMLException(message, inner);
