namespace EfficientML.Fuzz;

/// <summary>
/// The test assembly doubles as the kernel worker: <c>dotnet exec EfficientML.Fuzz.dll magic-worker</c> starts
/// <see cref="MagicWorker"/>. Under <c>dotnet test</c> this entry point is not used.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["magic-worker", ..]) return await MagicWorker.RunAsync();
        Console.Error.WriteLine("Usage: dotnet exec EfficientML.Fuzz.dll magic-worker (the fuzz tests start it; run them with dotnet test).");
        return 2;
    }
}
