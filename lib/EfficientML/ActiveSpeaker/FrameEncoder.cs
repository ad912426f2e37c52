using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.ActiveSpeaker;

/// <summary>
/// One video frame's embedding: the log-mel frames of its 40 ms through a small MLP, the face crop through a small CNN
/// (4×4 patches, then two stride-2 3×3 convolutions), both fused by an MLP. Frame by frame, with no context across frames: all of a
/// decision's context comes from the temporal model, so its P and F bound it exactly.
/// </summary>
public sealed class FrameEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly Linear audio1, audio2, visual, fuse1, fuse2;
    public readonly Conv2d conv1, conv2, conv3;
    readonly int _crop;

    public FrameEncoder(ActiveSpeakerConfig config) : base(nameof(FrameEncoder))
    {
        int e = config.EncoderWidth, w = config.Width;
        _crop = config.CropSize;
        audio1 = nn.Linear(config.AudioFeatures, 2 * e);
        audio2 = nn.Linear(2 * e, e);
        conv1 = nn.Conv2d(1, 16, 4, stride: 4);
        conv2 = nn.Conv2d(16, 32, 3, stride: 2, padding: 1);
        conv3 = nn.Conv2d(32, 32, 3, stride: 2, padding: 1);
        int side = (_crop / 4 + 3) / 4;
        visual = nn.Linear(32 * side * side, e);
        fuse1 = nn.Linear(2 * e, w);
        fuse2 = nn.Linear(w, w);
        RegisterComponents();
    }

    /// <summary>audio: (N, mels × mels per frame), normalised log-mel; crops: (N, S, S) → (N, Width).</summary>
    public override Tensor forward(Tensor audio, Tensor crops)
    {
        var a = audio2.forward(F.gelu(audio1.forward(audio)));
        var v = crops.view(-1, 1, _crop, _crop);
        v = F.gelu(conv3.forward(F.gelu(conv2.forward(F.gelu(conv1.forward(v))))));
        v = visual.forward(v.flatten(1));
        return fuse2.forward(F.gelu(fuse1.forward(cat([a, v], -1))));
    }
}
