using System.Text;
using System.Text.Json;
using Registry.Node.Content;

namespace Registry.Node.Cli;

/// <summary><c>inspect</c>'s JSON: the image record with the config blob embedded as it was pulled.</summary>
internal static class ImageInspection
{
    public static string ToJson(ImageRecord image, ReadOnlyMemory<byte> config)
    {
        // Written by hand rather than by reflection so that the CLI stays NativeAOT-publishable.
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            json.WriteString("Id", image.ConfigDigest.ToString());
            json.WriteString("Reference", image.Reference);
            json.WriteString("Digest", image.Digest.ToString());
            json.WriteString("ManifestDigest", image.ManifestDigest.ToString());
            json.WriteString("Platform", image.Platform);
            json.WriteNumber("Size", image.Size);
            json.WriteString("Pulled", image.PulledAt);
            json.WriteStartArray("ChainIds");
            foreach (var chainId in image.ChainIds)
            {
                json.WriteStringValue(chainId.ToString());
            }

            json.WriteEndArray();
            json.WritePropertyName("Config");
            using (var document = JsonDocument.Parse(config))
            {
                document.RootElement.WriteTo(json);
            }

            json.WriteEndObject();
            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
