using System.Reflection;
using System.Runtime.Loader;

namespace EfficientML.Interactive;

/// <summary>
/// The dotnet-interactive tool runs with its own FSharp.Core (10.0.0.0) already loaded, while Plotly.NET asks
/// for 10.1.0.0; without help every chart fails to load. This answers FSharp.Core requests with the loaded copy
/// (or the one beside the extension when none is loaded). Nothing here may mention a Plotly or F# type: the JIT
/// would need them before the handler exists.
/// </summary>
static class FSharpCoreResolution
{
    const string FSharpCore = "FSharp.Core";
    static int _installed;

    /// <summary>Installs the handlers once per process.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        AssemblyLoadContext.Default.Resolving += Resolve;
        var own = AssemblyLoadContext.GetLoadContext(typeof(FSharpCoreResolution).Assembly);
        if (own != null && own != AssemblyLoadContext.Default) own.Resolving += Resolve;
        AppDomain.CurrentDomain.AssemblyResolve += (_, args) => Resolve(null, new AssemblyName(args.Name));
    }

    static Assembly? Resolve(AssemblyLoadContext? context, AssemblyName requested)
    {
        if (!string.Equals(requested.Name, FSharpCore, StringComparison.OrdinalIgnoreCase)) return null;
        var loaded = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => string.Equals(a.GetName().Name, FSharpCore, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(a => a.GetName().Version)
            .FirstOrDefault();
        if (loaded != null) return loaded;
        var beside = Path.Combine(Path.GetDirectoryName(typeof(FSharpCoreResolution).Assembly.Location) ?? "", FSharpCore + ".dll");
        return File.Exists(beside) ? (context ?? AssemblyLoadContext.Default).LoadFromAssemblyPath(beside) : null;
    }
}
