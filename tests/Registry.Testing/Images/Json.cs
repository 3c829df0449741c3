using System.Text;
using System.Text.Json.Nodes;

namespace Registry.Testing.Images;

internal static class Json
{
    /// <summary>Compact UTF-8 JSON in insertion order: the bytes whose digest names a manifest or config.</summary>
    public static byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    public static JsonObject Descriptor(Descriptor descriptor) => new()
    {
        ["mediaType"] = descriptor.MediaType,
        ["digest"] = descriptor.Digest,
        ["size"] = descriptor.Size,
    };
}
