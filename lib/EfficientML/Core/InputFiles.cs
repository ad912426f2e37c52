namespace EfficientML.Core;

/// <summary>
/// The first look at a file a user names, before anything opens it: a folder, a missing file and a file too short to be
/// what it claims each get the caller's message. The length is read from the directory entry, so a pipe or a device
/// (which report 0 bytes) is refused without opening it: opening a pipe for reading would wait for a writer forever.
/// </summary>
public static class InputFiles
{
    /// <summary>The length of <paramref name="path"/>, a regular file of at least <paramref name="minimumBytes"/> bytes.</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What it should be ("checkpoint", "WAV file"), for the folder message.</param>
    /// <param name="minimumBytes">The shortest length the format allows (at least 1).</param>
    /// <param name="missing">The exception for a missing file.</param>
    /// <param name="tooShort">The exception for a file shorter than <paramref name="minimumBytes"/> (given its length; 0 also for pipes and devices).</param>
    public static long Length(string path, string what, long minimumBytes, Func<string, Exception> missing, Func<string, long, Exception> tooShort)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidSettingsException($"Give the path of a {what}.");
        if (Directory.Exists(path)) throw new InvalidSettingsException($"'{path}' is a folder, not a {what}. Give the path of the file itself.");
        var info = new FileInfo(path);
        if (info.LinkTarget != null)
        {
            // A link is judged by what it leads to (its own entry says nothing of the file's length or kind).
            FileSystemInfo? target;
            try { target = info.ResolveLinkTarget(returnFinalTarget: true); }
            catch (IOException) { throw new InvalidFileException($"'{path}' is a symbolic link that never reaches a file (it loops). Give the path of the {what} itself."); }
            if (target is DirectoryInfo { Exists: true }) throw new InvalidSettingsException($"'{path}' leads to a folder, not a {what}. Give the path of the file itself.");
            if (target is null || !target.Exists) throw missing(path);
            info = new FileInfo(target.FullName);
        }
        if (!info.Exists) throw missing(path);
        long length = info.Length;
        if (length < Math.Max(1, minimumBytes)) throw tooShort(path, length);
        return length;
    }
}
