using EfficientML.Clustering;

namespace EfficientML.Interactive;

/// <summary>
/// What DKM keeps for backward as HTML: a store's report (peak and now, by kind, by worker), and the eDKM ablation rows
/// (bytes and time per storage, against plain DKM) with their bar chart.
/// </summary>
static class SavedMemoryHtml
{
    /// <summary>Workers listed one by one; more are summarised.</summary>
    public const int WorkersShown = 16;

    public static string Render(SavedTensorReport r)
    {
        string Th(string text) => $"<th style=\"{Html.NumberCellStyle}\">{text}</th>";
        string Row(string name, long peak, long now) =>
            $"<tr><td style=\"{Html.CellStyle}\">{name}</td><td style=\"{Html.NumberCellStyle}\">{Exact(peak)}</td><td style=\"{Html.NumberCellStyle}\">{Exact(now)}</td></tr>";
        var rows = new List<string>
        {
            Row("<b>total</b>", r.Peak.Total, r.Current.Total),
            Row("attention A", r.Peak[SavedKind.Attention], r.Current[SavedKind.Attention]),
            Row("index (uniquified)", r.Peak[SavedKind.Index], r.Current[SavedKind.Index]),
            Row("weights w", r.Peak[SavedKind.Weights], r.Current[SavedKind.Weights]),
            Row("centroids c", r.Peak[SavedKind.Centroids], r.Current[SavedKind.Centroids]),
            Row("on the compute device", r.Peak.OnDevice, r.Current.OnDevice),
            Row("offloaded to host memory", r.Peak.OnHost, r.Current.OnHost),
        };
        int workers = r.Peak.PerWorker.Count;
        if (workers > 1)
        {
            for (int w = 0; w < Math.Min(workers, WorkersShown); w++)
                rows.Add(Row($"worker {w}", r.Peak.PerWorker[w], w < r.Current.PerWorker.Count ? r.Current.PerWorker[w] : 0));
            if (workers > WorkersShown) rows.Add($"<tr><td colspan=\"3\" style=\"{Html.CellStyle}\">… {workers - WorkersShown} more workers</td></tr>");
        }
        return $"<div class=\"efml-saved-report\" style=\"{Html.BlockStyle}\">" +
               $"<div style=\"margin-bottom:4px\"><b>Kept for backward</b> · {Html.Encode(r.Store)} · peak {Exact(r.Peak.Total)}" +
               (workers > 1 ? $" over {workers} workers, busiest worker at most {Exact(r.PeakPerWorker)}" : "") +
               $" · {Html.Count(r.Saves)} saves, {Html.Count(r.StoredCopies)} stored</div>" +
               $"<table class=\"efml-saved-table\" style=\"{Html.TableStyle}\"><tr><th style=\"{Html.CellStyle}\"></th>{Th("at the peak")}{Th("now")}</tr>" +
               string.Concat(rows) + "</table></div>";
    }

    public static string Render(IEnumerable<SavedMemoryRow> rows)
    {
        var list = rows.ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle}\">No saved-memory measurements.</div>";
        var reference = list.FirstOrDefault(r => r.Options is { Uniquify: false, Shards: 1, Deduplicate: false }) ?? list[0];
        string Th(string text) => $"<th style=\"{Html.NumberCellStyle}\">{text}</th>";
        string Td(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var body = list.Select(r =>
            $"<tr><td style=\"{Html.CellStyle}\">{Html.Encode(r.Name)}</td>" +
            Td(Exact(r.PeakBytes)) + Td(Exact(r.PeakBytesPerWorker)) +
            Td(Html.Number(Math.Round(reference.PeakBytesPerWorker / (double)Math.Max(1, r.PeakBytesPerWorker), 1)) + "×") +
            Td(Html.Number(Math.Round(r.StepSeconds * 1000, 1)) + " ms") +
            Td(Html.Number(Math.Round(r.StepSeconds / Math.Max(1e-12, reference.StepSeconds), 2)) + "×") +
            Td(Html.Number(Math.Round(r.Loss, 4))) + "</tr>");
        return $"<div class=\"efml-saved-memory\" style=\"{Html.BlockStyle}\">" +
               $"<table class=\"efml-saved-memory-table\" style=\"{Html.TableStyle}\"><tr><th style=\"{Html.CellStyle}\">storage</th>" +
               Th("kept for backward (all workers)") + Th("busiest worker") + Th("less than plain DKM (per worker)") +
               Th("step time") + Th("time vs plain DKM") + Th("loss") + "</tr>" + string.Concat(body) + "</table>" +
               ChartHtml.Fragment(ClusteringCharts.SavedMemory(list)) +
               "</div>";
    }

    /// <summary>Exact bytes, with a readable size beside them from 1 KB.</summary>
    public static string Exact(long bytes) =>
        bytes < 1000 ? $"{Html.Count(bytes)} B" : $"{Html.Count(bytes)} B ({Html.Bytes(bytes)})";
}
