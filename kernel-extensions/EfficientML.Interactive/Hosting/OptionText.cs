using System.Text.Json;
using System.Text.Json.Serialization;

namespace EfficientML.Interactive;

/// <summary>
/// An option's value exactly as written. The kernel binds magic options through JSON, so a value such as <c>[]</c>,
/// <c>{}</c> or <c>[1,2]</c> would fail in its parser with a code (DNI106) before the magic could say what it wants;
/// an <see cref="OptionText"/> accepts any value, and <see cref="OptionValues"/> then gives the message.
/// </summary>
[JsonConverter(typeof(Converter))]
public sealed class OptionText(string text)
{
    /// <summary>The value as written (a JSON array or object as its text).</summary>
    public string Text { get; } = text;

    /// <summary>The text, or null for an absent option.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(value))]
    public static implicit operator string?(OptionText? value) => value?.Text;

    /// <summary>The text without surrounding white space.</summary>
    public string Trim() => Text.Trim();

    /// <inheritdoc/>
    public override string ToString() => Text;

    sealed class Converter : JsonConverter<OptionText>
    {
        public override OptionText Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            var element = document.RootElement;
            return new OptionText(element.ValueKind == JsonValueKind.String ? element.GetString() ?? "" : element.GetRawText());
        }

        public override void Write(Utf8JsonWriter writer, OptionText value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text);
    }
}
