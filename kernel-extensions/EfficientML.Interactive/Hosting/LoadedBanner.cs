using EfficientML.Core;

namespace EfficientML.Interactive;

/// <summary>
/// The one output of loading: version, device, threads and the magics, carrying the whole plotly.js inline so
/// that every chart later in the notebook draws offline (VS Code, Jupyter, and the runner's HTML pages).
/// </summary>
static class LoadedBanner
{
    public static string Render(NotebookSession session)
    {
        string device;
        try { device = Devices.Default.ToString(); }
        catch (InvalidSettingsException e) { device = "unusable (" + e.Message + ")"; }
        var magics = string.Join(" ", session.Magics.Added.Select(m => $"<code title=\"{Html.Encode(m.Description)}\">{Html.Encode(m.Name)}</code>"));
        return $"<div class=\"efml-loaded\" style=\"{Html.BlockStyle};padding:6px 10px;border-left:3px solid #1f77b4;background:rgba(31,119,180,0.06)\">" +
               $"<b>EfficientML {Html.Encode(EnvironmentReport.VersionOf(typeof(Devices).Assembly))} loaded</b> · device <code>{Html.Encode(device)}</code> · " +
               $"{TorchThreads.Current} torch thread(s) · magics {magics} · charts: plotly.js {ChartHtml.PlotlyVersion}, inline (works offline)" +
               NumericsWarning() + "</div>\n" + WrapStyle + "\n" +
               ChartHtml.PlotlyScript();
    }

    /// <summary>
    /// The kernel's default object views keep a value's summary (<c>{ y = System.Single[], … }</c>) and its plain-text values
    /// on one line, which runs past the right edge of the page; this style, loaded once with the extension, wraps them in
    /// every output of the notebook (VS Code, Jupyter and the runner's pages share one document per notebook).
    /// </summary>
    internal const string WrapStyle =
        "<style>.dni-treeview,.dni-code-hint{white-space:normal !important}" +
        ".dni-code-hint code,.dni-plaintext pre{white-space:pre-wrap !important;overflow-wrap:anywhere}</style>";

    /// <summary>A red line when float32 results on this CPU disagree with float64 even after the start-up fix.</summary>
    static string NumericsWarning()
    {
        var check = EfficientML.Core.Numerics.NumericsGuard.Startup;
        return check.Final.Passed ? "" : $"<br><b style=\"color:#b00020\">Numbers on this CPU are wrong:</b> {Html.Encode(check.Explanation)}";
    }
}
