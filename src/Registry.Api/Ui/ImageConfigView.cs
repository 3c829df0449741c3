using System.Text.Json;
using Registry.Storage.Services;

namespace Registry.Api.Ui;

/// <summary>One step of an image's history, with the layer it made (null for steps that made none).</summary>
public sealed record HistoryStep(string CreatedBy, DateTime? Created, bool EmptyLayer, LayerSummary? Layer, string? Comment);

/// <summary>What the tag page shows of an image config. Everything in it comes from the image: it is only ever escaped.</summary>
public sealed class ImageConfigView
{
    private const string NopPrefix = "/bin/sh -c #(nop) ";

    public string? Platform { get; private init; }

    public DateTime? Created { get; private init; }

    public IReadOnlyList<string> Env { get; private init; } = [];

    public IReadOnlyList<string>? Entrypoint { get; private init; }

    public IReadOnlyList<string>? Cmd { get; private init; }

    public string? WorkingDir { get; private init; }

    public string? User { get; private init; }

    public IReadOnlyList<string> ExposedPorts { get; private init; } = [];

    public IReadOnlyList<string> Volumes { get; private init; } = [];

    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; private init; } = [];

    public IReadOnlyList<HistoryStep> History { get; private init; } = [];

    /// <summary>The config's view, or null when it is no image config (an artifact's config need not be JSON).</summary>
    public static ImageConfigView? Parse(byte[] config, IReadOnlyList<LayerSummary> layers)
    {
        try
        {
            using var json = JsonDocument.Parse(config);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var c = root.TryGetProperty("config", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : default;
            var os = String(root, "os");
            var arch = String(root, "architecture");
            var variant = String(root, "variant");
            return new ImageConfigView
            {
                Platform = os is null && arch is null ? null : $"{os}/{arch}{(variant is null ? "" : "/" + variant)}",
                Created = Time(root, "created"),
                Env = Strings(c, "Env") ?? [],
                Entrypoint = Strings(c, "Entrypoint"),
                Cmd = Strings(c, "Cmd"),
                WorkingDir = String(c, "WorkingDir"),
                User = String(c, "User"),
                ExposedPorts = Keys(c, "ExposedPorts"),
                Volumes = Keys(c, "Volumes"),
                Labels = c.ValueKind == JsonValueKind.Object && c.TryGetProperty(nameof(Labels), out var labels) && labels.ValueKind == JsonValueKind.Object
                    ? labels.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText())).ToList()
                    : [],
                History = ReadHistory(root, layers),
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Strips the legacy builder's <c>/bin/sh -c #(nop) </c> noise from metadata-only steps.</summary>
    public static string CleanCommand(string createdBy)
    {
        var text = createdBy.Trim();
        return text.StartsWith(NopPrefix, StringComparison.Ordinal) ? text[NopPrefix.Length..].Trim() : text;
    }

    // Steps marked empty_layer made no layer; every other step made the next layer, in order.
    private static List<HistoryStep> ReadHistory(JsonElement root, IReadOnlyList<LayerSummary> layers)
    {
        if (!root.TryGetProperty("history", out var history) || history.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var steps = new List<HistoryStep>();
        var next = 0;
        foreach (var step in history.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object))
        {
            var empty = step.TryGetProperty("empty_layer", out var e) && e.ValueKind == JsonValueKind.True;
            var layer = !empty && next < layers.Count ? layers[next++] : null;
            steps.Add(new HistoryStep(CleanCommand(String(step, "created_by") ?? string.Empty), Time(step, "created"), empty, layer, String(step, "comment")));
        }

        return steps;
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTime? Time(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
        && value.TryGetDateTimeOffset(out var time) ? time.UtcDateTime : null;

    private static List<string>? Strings(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()).ToList()
            : null;

    private static List<string> Keys(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value.EnumerateObject().Select(p => p.Name).ToList()
            : [];
}
