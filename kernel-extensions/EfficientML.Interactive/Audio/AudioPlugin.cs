using EfficientML.Audio;

namespace EfficientML.Interactive;

/// <summary>The speech substrate's results: audio clips and synthesized speech, as players with their pictures. No magics.</summary>
sealed class AudioPlugin : INotebookPlugin
{
    public int Order => 70;

    public void RegisterFormatters(FormatterSet formatters) => formatters
        .Add<AudioClip>(AudioHtml.Render)
        .Add<SynthesizedSpeech>(AudioHtml.Render);

    public void AddMagics(MagicSet magics) { }
}
