using EfficientML.Core;

namespace EfficientML.Interactive;

/// <summary>A mistake in a magic command's options: its message says what to change, and is all the user sees.</summary>
sealed class MagicException(string message) : EfficientMLException(message);
