namespace EfficientML.Core;

/// <summary>Where the shipped data and models are: the repository's <c>datasets/</c> folder.</summary>
public static class ProjectPaths
{
    /// <summary>Environment variable that points at the datasets folder directly.</summary>
    public const string EnvironmentVariable = "EFFICIENTML_DATASETS";

    const string Marker = "text/moby-dick.txt.gz";

    /// <summary>
    /// The datasets folder: <c>EFFICIENTML_DATASETS</c>, else the first <c>datasets/</c> found walking up from the
    /// current directory or from this assembly's folder (so it works from notebooks, tests and build outputs).
    /// </summary>
    public static string Datasets
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                if (File.Exists(Path.Combine(configured, Marker))) return Path.GetFullPath(configured);
                throw new MissingFileException($"{EnvironmentVariable}='{configured}' has no {Marker}: point it at the repository's datasets folder.");
            }
            foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory, Path.GetDirectoryName(typeof(ProjectPaths).Assembly.Location) })
            {
                for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir != null; dir = dir.Parent)
                {
                    var candidate = Path.Combine(dir.FullName, "datasets");
                    if (File.Exists(Path.Combine(candidate, Marker))) return candidate;
                }
            }
            throw new MissingFileException(
                $"Could not find the datasets folder above '{Environment.CurrentDirectory}'. Open the notebook from the repository, " +
                $"or set {EnvironmentVariable} to the repository's datasets folder.");
        }
    }

    /// <summary>A file under the datasets folder, e.g. <c>Dataset("models", "tinygpt-moby.safetensors")</c>.</summary>
    public static string Dataset(params string[] parts) => Path.Combine([Datasets, .. parts]);
}
