using EfficientML.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Slick;

/// <summary>
/// What a SLiCK model says about a batch of (audio, keyword) pairs: the utterance-level match logit [B], the
/// subsequence-level logits [B, L] (position k: does the audio contain the keyword's first k + 1 phonemes?), the CTC
/// phoneme log-probabilities of the audio [B, T', phonemes + blank], the cross-attention of each keyword position over
/// the audio frames [B, L, T'] (averaged over heads) and which keyword positions are phonemes, not padding [B, L].
/// </summary>
public sealed record SlickOutput(Tensor Utterance, Tensor Subsequence, Tensor CtcLogProbs, Tensor Attention, Tensor Mask);

/// <summary>
/// SLiCK (Subsequences for Length-Constrained Keyword spotting): an audio encoder, a text encoder over the keyword's
/// phonemes padded to L, and a matcher between them.
/// <list type="bullet">
/// <item><b>Audio</b> [B, mels, frames] → a strided 1-D convolution and a second convolution with a residual path (each
/// followed by LayerNorm and GELU), then a bidirectional GRU: one encoding of width d per <c>AudioStride</c> frames. A
/// linear CTC head over it recognises phonemes (the padding id 0 doubles as CTC's blank).</item>
/// <item><b>Text</b> [B, L] phoneme ids → embeddings and a left-to-right GRU, so position k encodes the keyword's first
/// k + 1 phonemes and nothing after them. The keyword is padded to L, never pooled over its length.</item>
/// <item><b>Matcher</b>: each keyword position attends over the audio (multi-head cross-attention); the position's
/// encoding, what it found and their product are fused, and a left-to-right GRU carries the match along the keyword. The
/// subsequence head reads each position (prefix k matched?); the utterance head reads all L positions at once, flattened
/// (padding positions set to zero), as SLiCK does instead of aggregating over a variable length.</item>
/// </list>
/// Because every step is left-to-right along the keyword and padding is zeroed before the utterance head, a keyword's
/// score does not depend on what stands in its padding, and the subsequence logits of a prefix do not depend on what
/// follows it (both are tested).
/// </summary>
public sealed class SlickModel : nn.Module
{
    readonly int _heads, _headDim;
    readonly Conv1d frontEnd, conv;
    readonly LayerNorm frontNorm, convNorm, textNorm;
    readonly GRU audioGru, textGru, matchGru;
    readonly Linear ctcHead, query, keyValue, attentionOut, fuse, subsequenceHead, utteranceHidden, utteranceOut;
    readonly Embedding phonemes;

    /// <summary>A model of shape <paramref name="config"/> with fresh weights (seed them with <see cref="Seeding"/> first).</summary>
    public SlickModel(SlickModelConfig config) : base(nameof(SlickModel))
    {
        Config = config.Validate();
        int d = config.Width;
        (_heads, _headDim) = (config.Heads, d / config.Heads);
        frontEnd = nn.Conv1d(config.Mels, d, 5, stride: config.AudioStride, padding: 2);
        frontNorm = nn.LayerNorm(d);
        conv = nn.Conv1d(d, d, 3, padding: 1);
        convNorm = nn.LayerNorm(d);
        audioGru = nn.GRU(d, d / 2, numLayers: config.AudioLayers, batchFirst: true, bidirectional: true);
        ctcHead = nn.Linear(d, Phonemizer.Count);
        phonemes = nn.Embedding(Phonemizer.Count, d, padding_idx: Phonemizer.Padding);
        textGru = nn.GRU(d, d, batchFirst: true);
        textNorm = nn.LayerNorm(d);
        query = nn.Linear(d, d);
        keyValue = nn.Linear(d, 2 * d);
        attentionOut = nn.Linear(d, d);
        fuse = nn.Linear(3 * d, d);
        matchGru = nn.GRU(d, d, batchFirst: true);
        subsequenceHead = nn.Linear(d, 1);
        utteranceHidden = nn.Linear(config.MaxKeywordLength * d, config.HeadHidden);
        utteranceOut = nn.Linear(config.HeadHidden, 1);
        RegisterComponents();
    }

    /// <summary>The model's shape.</summary>
    public SlickModelConfig Config { get; }

    /// <summary>
    /// The score at or above which a spotter decides "the keyword is said". A match score is not a calibrated probability,
    /// so training sets this to the equal-error point of the validation pairs (<see cref="SlickExperiment.Train"/>);
    /// 0.5 until then.
    /// </summary>
    public double DecisionThreshold { get; set; } = 0.5;

    /// <summary>Number of parameters of the audio side (encoder and CTC head), computed once per window of audio.</summary>
    public long AudioParameters => Count(frontEnd, frontNorm, conv, convNorm, audioGru, ctcHead);

    /// <summary>Number of parameters of the text side (computed once per enrolled keyword).</summary>
    public long TextParameters => Count(phonemes, textGru, textNorm);

    /// <summary>Number of parameters of the matcher (run for every window and every enrolled keyword).</summary>
    public long MatcherParameters => Count(query, keyValue, attentionOut, fuse, matchGru, subsequenceHead, utteranceHidden, utteranceOut);

    static long Count(params nn.Module[] modules) => modules.Sum(m => m.parameters().Sum(p => p.numel()));

    /// <summary>
    /// Audio features [B, mels, frames] (mean-normalised log-mel, <see cref="Audio.KeywordFeatures.Normalise"/>) → the audio
    /// encoding [B, T', d] and the CTC log-probabilities [B, T', phonemes + blank].
    /// </summary>
    public (Tensor Encoding, Tensor CtcLogProbs) EncodeAudio(Tensor features)
    {
        if (features.dim() != 3 || features.shape[1] != Config.Mels)
            throw new InvalidSettingsException($"Audio features must be [batch, {Config.Mels} mels, frames]; got [{string.Join(", ", features.shape)}].");
        var x = F.gelu(frontNorm.forward(frontEnd.forward(features).transpose(1, 2)));           // [B, T', d]
        x = x + F.gelu(convNorm.forward(conv.forward(x.transpose(1, 2)).transpose(1, 2)));
        var (encoding, _) = audioGru.call(x);
        return (encoding, F.log_softmax(ctcHead.forward(encoding), -1));
    }

    /// <summary>
    /// Keywords [B, L] of phoneme ids (padded with 0) → their encodings [B, L, d]; position k depends on the first k + 1
    /// phonemes only.
    /// </summary>
    public Tensor EncodeText(Tensor keywords)
    {
        if (keywords.dim() != 2 || keywords.shape[1] != Config.MaxKeywordLength)
            throw new InvalidSettingsException($"Keywords must be [batch, L = {Config.MaxKeywordLength}] phoneme ids; got [{string.Join(", ", keywords.shape)}].");
        var embedded = phonemes.forward(keywords);
        var (encoded, _) = textGru.call(embedded);
        return textNorm.forward(encoded + embedded);
    }

    /// <summary>Which keyword positions hold phonemes [B, L] (bool): the first <paramref name="lengths"/> [B], or the non-zero ids.</summary>
    public Tensor KeywordMask(Tensor keywords, Tensor? lengths = null)
    {
        if (lengths is null) return keywords.ne(Phonemizer.Padding);
        return arange(keywords.shape[1], device: keywords.device).unsqueeze(0).lt(lengths.unsqueeze(1));
    }

    /// <summary>
    /// The matcher: audio encodings [B, T', d] against keyword encodings [B, L, d] with their mask [B, L] → utterance
    /// logits [B], subsequence logits [B, L] and attention [B, L, T'].
    /// </summary>
    public (Tensor Utterance, Tensor Subsequence, Tensor Attention) Match(Tensor audio, Tensor text, Tensor mask) =>
        MatchKeys(AudioKeys(audio), text, mask);

    /// <summary>
    /// The matcher's keys and values of audio encodings [B, T', d] → [2, B, heads, T', d / heads]: they depend on the audio
    /// alone, so a window scanned for several keywords computes them once.
    /// </summary>
    public Tensor AudioKeys(Tensor audio)
    {
        long b = audio.shape[0], t = audio.shape[1];
        return keyValue.forward(audio).view(b, t, 2, _heads, _headDim).permute(2, 0, 3, 1, 4);
    }

    /// <summary>The matcher on keys and values from <see cref="AudioKeys"/> (broadcast over keywords when their batch is 1).</summary>
    public (Tensor Utterance, Tensor Subsequence, Tensor Attention) MatchKeys(Tensor kv, Tensor text, Tensor mask)
    {
        long b = text.shape[0], l = text.shape[1];
        var q = query.forward(text).view(b, l, _heads, _headDim).transpose(1, 2);                 // [B, H, L, hd]
        var weights = F.softmax(q.matmul(kv[0].transpose(-2, -1)).div(Math.Sqrt(_headDim)), -1);  // [B, H, L, T']
        var found = attentionOut.forward(weights.matmul(kv[1]).transpose(1, 2).reshape(b, l, _heads * _headDim));
        var fused = F.gelu(fuse.forward(cat([text, found, text * found], -1)));
        var (carried, _) = matchGru.call(fused);                                                   // [B, L, d]
        var subsequence = subsequenceHead.forward(carried).squeeze(-1);
        var kept = carried.mul(mask.unsqueeze(-1).to_type(carried.dtype));
        var utterance = utteranceOut.forward(F.gelu(utteranceHidden.forward(kept.reshape(b, l * carried.shape[2])))).squeeze(-1);
        return (utterance, subsequence, weights.mean([1]));
    }

    /// <summary>
    /// The whole model on audio features [B, mels, frames] and keywords [B, L]; <paramref name="lengths"/> [B] gives each
    /// keyword's length (default: its non-zero ids).
    /// </summary>
    public SlickOutput Forward(Tensor features, Tensor keywords, Tensor? lengths = null)
    {
        var (audio, ctc) = EncodeAudio(features);
        if (audio.shape[0] != keywords.shape[0])
            throw new InvalidSettingsException($"{audio.shape[0]} clips but {keywords.shape[0]} keywords; give one keyword per clip.");
        var mask = KeywordMask(keywords, lengths);
        var (utterance, subsequence, attention) = Match(audio, EncodeText(keywords), mask);
        return new SlickOutput(utterance, subsequence, ctc, attention, mask);
    }
}
