namespace EfficientML.Core;

/// <summary>
/// Something a user can fix: bad settings, a run that diverged, a file that is not what it claims. The message says
/// what went wrong and what to do, and is all a notebook shows (no stack trace); the data and the kernel live on.
/// </summary>
public class EfficientMLException(string message, Exception? inner = null) : Exception(message, inner);
