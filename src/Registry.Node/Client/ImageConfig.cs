using System.Text.Json;
using Registry.Core;

namespace Registry.Node.Client;

/// <summary>
/// The parts of an image's config blob that pulling and running need: platform, the runtime
/// defaults (<c>config</c>) and the layers' diff ids.
/// </summary>
public sealed record ImageConfig
{
    public string Os { get; init; } = "";

    public string Architecture { get; init; } = "";

    public string? Variant { get; init; }

    public IReadOnlyList<string> Env { get; init; } = [];

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public string? WorkingDir { get; init; }

    public string? User { get; init; }

    public string? StopSignal { get; init; }

    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    public IReadOnlyList<string> Volumes { get; init; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The uncompressed layers' digests, in order; they key snapshots.</summary>
    public IReadOnlyList<Digest> DiffIds { get; init; } = [];

    public static ImageConfig Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new RegistryClientException("image config is not a JSON object");
            }

            var config = root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
            return new ImageConfig
            {
                Os = String(root, "os") ?? "",
                Architecture = String(root, "architecture") ?? "",
                Variant = String(root, "variant"),
                Env = Strings(config, "Env") ?? [],
                Entrypoint = Strings(config, "Entrypoint"),
                Cmd = Strings(config, "Cmd"),
                WorkingDir = String(config, "WorkingDir"),
                User = String(config, "User"),
                StopSignal = String(config, "StopSignal"),
                ExposedPorts = Keys(config, "ExposedPorts"),
                Volumes = Keys(config, "Volumes"),
                Labels = config.ValueKind == JsonValueKind.Object && config.TryGetProperty(nameof(Labels), out var labels) && labels.ValueKind == JsonValueKind.Object
                    ? labels.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
                    : new Dictionary<string, string>(),
                DiffIds = root.TryGetProperty("rootfs", out var rootfs) && rootfs.ValueKind == JsonValueKind.Object
                    ? (Strings(rootfs, "diff_ids") ?? []).Select(Digest.Parse).ToList()
                    : [],
            };
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new RegistryClientException($"image config is invalid: {e.Message}", e);
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static List<string>? Strings(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(i => i.GetString() ?? "")]
            : null;

    private static List<string> Keys(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object
            ? [.. v.EnumerateObject().Select(p => p.Name)]
            : [];
}
