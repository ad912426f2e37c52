using EfficientML.Core;
using Plotly.NET;
using TorchSharp;
using static TorchSharp.torch;
using Chart = Plotly.NET.CSharp.Chart;

namespace EfficientML.Interactive;

/// <summary>
/// A heat map of a matrix (a weight, an attention map): row 0 at the top. Signed data gets a blue (negative), white (zero),
/// red (positive) scale centred on zero; data with no negative value (magnitudes, counts, importances) gets a sequential
/// white-to-dark-blue scale from zero, so a diverging scale's pale half is not wasted on values that cannot occur. Matrices larger than <c>maxSide</c> on an axis are averaged down block-wise, so the HTML stays small.
/// </summary>
public static class HeatMap
{
    /// <summary>Cells per axis drawn at most unless told otherwise.</summary>
    public const int DefaultMaxSide = 128;

    /// <summary>A heat map of the 2-D tensor <paramref name="matrix"/> (any device, any real dtype).</summary>
    public static GenericChart Of(Tensor matrix, string? title = null, int maxSide = DefaultMaxSide)
    {
        if (matrix.dim() != 2)
            throw new InvalidSettingsException($"A heat map needs a 2-D tensor; got shape [{string.Join(", ", matrix.shape)}]. Select a slice first, e.g. t[0].");
        if (maxSide < 1) throw new InvalidSettingsException($"Draw at least one cell per axis (got {maxSide}).");
        long rows = matrix.shape[0], cols = matrix.shape[1];
        long outRows = Math.Min(rows, maxSide), outCols = Math.Min(cols, maxSide);
        float[] values;
        using (NewDisposeScope())
        using (no_grad())
        {
            var m = matrix.detach().to(CPU).to_type(ScalarType.Float32);
            if (outRows < rows || outCols < cols)
                m = nn.functional.adaptive_avg_pool2d(m.unsqueeze(0).unsqueeze(0), [outRows, outCols]).squeeze(0).squeeze(0);
            values = m.contiguous().data<float>().ToArray();
        }
        var z = new double[outRows][];
        for (long r = 0; r < outRows; r++)
        {
            z[r] = new double[outCols];
            for (long c = 0; c < outCols; c++) z[r][c] = values[r * outCols + c];
        }
        var shape = $"{rows}×{cols}";
        var label = (title ?? "matrix") + $" [{shape}]" + (outRows < rows || outCols < cols ? $", averaged to {outRows}×{outCols}" : "");
        return Of(z, label, BinStarts(cols, outCols), BinStarts(rows, outRows));
    }

    /// <summary>A heat map of <paramref name="rows"/> (each row one line of cells); x/y label the columns and rows.</summary>
    public static GenericChart Of(IReadOnlyList<IReadOnlyList<double>> rows, string? title = null, IReadOnlyList<long>? x = null, IReadOnlyList<long>? y = null)
    {
        if (rows.Count == 0 || rows[0].Count == 0) throw new InvalidSettingsException("A heat map needs at least one cell.");
        var finite = rows.SelectMany(r => r).Where(double.IsFinite).ToList();
        double limit = finite.Select(Math.Abs).DefaultIfEmpty(0).Max();
        bool signed = finite.Any(v => v < 0);
        var chart = Chart.Heatmap<double, long, long, string>(
            rows.Select(r => r.Select(v => double.IsFinite(v) ? v : 0)),
            X: (x ?? Enumerable.Range(0, rows[0].Count).Select(i => (long)i).ToList()).ToList(),
            Y: (y ?? Enumerable.Range(0, rows.Count).Select(i => (long)i).ToList()).ToList(),
            ReverseYAxis: true, UseDefaults: false);
        foreach (var trace in GenericChart.getTraces(chart))
        {
            // Signed: a symmetric range, zero white, so sign and magnitude read at a glance. Non-negative: zero to the largest.
            trace.SetProperty("zmin", signed ? -Math.Max(limit, 1e-12) : 0.0);
            trace.SetProperty("zmax", Math.Max(limit, 1e-12));
            // Explicit stops (named scales differ between plotting libraries).
            trace.SetProperty("colorscale", signed ? Diverging : Sequential);
        }
        return ChartStyle.Apply(chart, title, "column", "row", height: 420);
    }

    /// <summary>Negative blue, zero white, positive red.</summary>
    static readonly object[] Diverging = [new object[] { 0.0, "#2166ac" }, new object[] { 0.5, "#f7f7f7" }, new object[] { 1.0, "#b2182b" }];

    /// <summary>Zero white to the largest value dark blue.</summary>
    static readonly object[] Sequential = [new object[] { 0.0, "#f7fbff" }, new object[] { 0.35, "#9ecae1" }, new object[] { 0.7, "#3182bd" }, new object[] { 1.0, "#08306b" }];

    /// <summary>First source index of each of <paramref name="bins"/> equal bins over <paramref name="length"/> indices.</summary>
    static long[] BinStarts(long length, long bins) =>
        Enumerable.Range(0, (int)bins).Select(i => (long)Math.Floor(i * (double)length / bins)).ToArray();
}
