using System.Globalization;

namespace EfficientML.Interactive;

/// <summary>
/// The one set of number formats every table, chart label and message of the extension uses: invariant culture, decimal
/// units (as the benchmarks and READMEs print them), and a dash for what is unknown.
/// </summary>
public static class Format
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>1,650,000</summary>
    public static string Count(long n) => n.ToString("N0", Invariant);

    /// <summary>Four significant digits, no exponent for ordinary magnitudes; NaN and ±∞ spelled out.</summary>
    public static string Number(double x) =>
        double.IsNaN(x) ? "NaN" : double.IsInfinity(x) ? (x > 0 ? "∞" : "−∞") :
        x == 0 || (Math.Abs(x) >= 1e-3 && Math.Abs(x) < 1e6) ? x.ToString("0.####", Invariant) : x.ToString("0.###e0", Invariant);

    /// <summary>Short labels for charts and hover text: up to four decimals for ordinary magnitudes (0.4995, 4560), else 1.23e-5.</summary>
    public static string Short(double x) =>
        double.IsNaN(x) ? "NaN" : double.IsInfinity(x) ? (x > 0 ? "∞" : "−∞") :
        x == 0 ? "0" : Math.Abs(x) >= 1e-3 && Math.Abs(x) < 1e4 ? x.ToString("0.####", Invariant) : x.ToString("0.00e0", Invariant);

    /// <summary>A share as a percentage with at most <paramref name="decimals"/> decimals: "12.3%", "50%"; "—" when unknown.</summary>
    public static string Percent(double share, int decimals = 1) =>
        double.IsFinite(share) ? (share * 100).ToString(decimals <= 0 ? "0" : "0." + new string('#', decimals), Invariant) + "%" : "—";

    /// <summary>Decimal units: 512 B, 2.1 KB, 2.1 MB, 1.07 GB.</summary>
    public static string Bytes(long bytes) =>
        bytes >= 1_000_000_000 ? (bytes / 1e9).ToString("0.##", Invariant) + " GB" :
        bytes >= 1_000_000 ? (bytes / 1e6).ToString("0.##", Invariant) + " MB" :
        bytes >= 1_000 ? (bytes / 1e3).ToString("0.#", Invariant) + " KB" : bytes.ToString(Invariant) + " B";

    /// <summary>A ratio with as many decimals as it needs (the caller adds × or ÷): 123, 12.3, 1.23.</summary>
    public static string Ratio(double ratio) =>
        !double.IsFinite(ratio) ? "—" :
        ratio >= 100 ? ratio.ToString("0", Invariant) : ratio >= 10 ? ratio.ToString("0.#", Invariant) : ratio.ToString("0.##", Invariant);

    /// <summary>Milliseconds with three decimals below 10 ms, else one: 0.123 ms, 42.5 ms.</summary>
    public static string Milliseconds(double ms) =>
        !double.IsFinite(ms) ? "—" : ms.ToString(ms < 10 ? "0.000" : "0.0", Invariant) + " ms";

    /// <summary>A fixed number of decimals, invariant: Fixed(0.12345, 3) = "0.123".</summary>
    public static string Fixed(double x, int decimals) => x.ToString("F" + decimals, Invariant);
}
