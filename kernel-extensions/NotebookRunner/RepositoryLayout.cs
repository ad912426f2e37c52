namespace NotebookRunner;

/// <summary>Where the repository, its tool manifest and the default output folder are.</summary>
internal static class RepositoryLayout
{
    /// <summary>The folder holding Notebooks.sln above <paramref name="start"/>, or null.</summary>
    public static string? FindRepositoryRoot(string start) =>
        FindUpwards(start, dir => File.Exists(Path.Combine(dir, "Notebooks.sln")));

    /// <summary>Default --out: artifacts/notebooks under the repository root, else ./executed.</summary>
    public static string DefaultOutputDirectory(string currentDirectory)
    {
        var root = FindRepositoryRoot(currentDirectory) ?? FindRepositoryRoot(AppContext.BaseDirectory);
        return root is null
            ? Path.Combine(currentDirectory, "executed")
            : Path.Combine(root, "artifacts", "notebooks");
    }

    /// <summary>
    /// The folder whose local tool manifest lists dotnet-interactive: searched from the notebook's folder,
    /// then the current directory, then the runner's own location (notebooks may live outside the repository).
    /// </summary>
    public static string? FindToolManifestDirectory(params string[] starts)
    {
        foreach (var start in starts)
        {
            var found = FindUpwards(start, dir =>
                File.Exists(Path.Combine(dir, ".config", "dotnet-tools.json")) ||
                File.Exists(Path.Combine(dir, "dotnet-tools.json")));
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    private static string? FindUpwards(string start, Func<string, bool> matches)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            if (matches(dir.FullName))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
