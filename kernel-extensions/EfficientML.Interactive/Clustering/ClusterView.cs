using System.Text.Encodings.Web;
using EfficientML.Clustering;
using EfficientML.Core;
using Microsoft.AspNetCore.Html;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>
/// The one output of <c>#!cluster</c>, redrawn in place: the fine-tuning's status and loss curve beside the watched
/// layer's weight histogram with its centroids, and at the end the compression result in the same place. It draws from
/// its own copies of the weight and centroids, taken by <see cref="Capture"/> on the thread that owns them.
/// </summary>
sealed class ClusterView(string layer, int clusters, TrainingRun? run) : IHtmlContent, IDisposable
{
    const string Cell = "width:calc(50% - 6px);min-width:320px;flex:0 1 auto";
    Tensor? _weight, _centroids;
    int _step;

    /// <summary>The compression result, once there is one: it replaces the status line.</summary>
    public CompressionResult? Result { get; set; }

    /// <summary>
    /// Copies the watched layer's float32 weight and centroids (none before k-means has run). Call it where those tensors
    /// may be read: before training, or in the fine-tuning callback on the training thread; and under the display's lock,
    /// since it frees the previous copies.
    /// </summary>
    public void Capture(ClusteredLayers layers)
    {
        Tensor weight;
        Tensor? centroids;
        using (no_grad())
        {
            weight = layers.Weight(layer).detach().cpu().clone().DetachFromDisposeScope();
            centroids = layers[layer].Centroids?.cpu().DetachFromDisposeScope();
        }
        Release();
        (_weight, _centroids, _step) = (weight, centroids, run?.Steps.Count ?? 0);
    }

    public void WriteTo(TextWriter writer, HtmlEncoder encoder) => writer.Write(Render());

    string Render()
    {
        var top = Result is { } result
            ? $"<div style=\"margin-bottom:4px\">{CompressionResultHtml.Headline(result)}</div>{CompressionResultHtml.Table([result])}" +
              (run is { Message.Length: > 0 } ? TrainingRunHtml.Status(run) : "")
            : run is not null ? TrainingRunHtml.Status(run) : "";
        var charts = new List<string>();
        if (run is not null)
            charts.Add(ChartHtml.Fragment(LossChart.Of([run], $"{run.Name} (validation: hard-clustered weights)")));
        if (_weight is not null)
        {
            var title = $"{layer}.weight" + (_centroids is null ? " before k-means" : run is null ? "" : $" at step {_step}");
            charts.Add(ChartHtml.Fragment(ClusteringCharts.WeightHistogram(_weight, _centroids, title)));
        }
        var style = charts.Count > 1 ? Cell : "width:100%";
        var caption = _weight is null ? "" :
            $"<div style=\"color:#555\">Bars: the float32 weights of <code>{Html.Encode(layer)}</code>; red: its {clusters} centroids. " +
            (run is null ? "Each weight is replaced by its nearest centroid." :
                           "Fine-tuning moves the weights and the centroids together; the deployed model keeps only the nearest centroid of each weight.") +
            "</div>";
        return $"<div class=\"efml-cluster\" style=\"{Html.BlockStyle}\">{top}" +
               $"<div style=\"display:flex;flex-wrap:wrap;gap:12px\">{string.Concat(charts.Select(c => $"<div style=\"{style}\">{c}</div>"))}</div>" +
               caption + "</div>";
    }

    void Release()
    {
        _weight?.Dispose();
        _centroids?.Dispose();
        (_weight, _centroids) = (null, null);
    }

    public void Dispose() => Release();
}
