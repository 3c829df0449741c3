using System.Text.Json;

namespace Registry.Core.Manifests;

/// <summary>
/// Parses and validates manifest payloads (Docker schema 2, Docker manifest list, OCI image manifest,
/// OCI image index). Every failure is a <see cref="RegistryException"/> with MANIFEST_INVALID and a
/// detail that tells the client what is wrong.
/// </summary>
public static class ManifestParser
{
    /// <summary>The largest manifest accepted: the size other registries and clients agree on.</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 64 };

    public static bool IsSupportedMediaType(string mediaType) =>
        MediaTypes.IsImageManifest(mediaType) || MediaTypes.IsIndex(mediaType);

    /// <param name="payload">The exact bytes the client sent.</param>
    /// <param name="contentType">The request's Content-Type, parameters allowed.</param>
    public static ParsedManifest Parse(ReadOnlyMemory<byte> payload, string? contentType)
    {
        if (payload.Length > MaxManifestBytes)
        {
            throw new RegistryException(ErrorCode.ManifestTooLarge, $"manifest is {payload.Length} bytes; the limit is {MaxManifestBytes}");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload, JsonOptions);
        }
        catch (JsonException e)
        {
            throw Invalid($"manifest is not valid JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("manifest must be a JSON object");
            }

            var declared = NormalizeContentType(contentType);
            var payloadType = OptionalString(root, "mediaType");
            var schemaVersion = root.TryGetProperty("schemaVersion", out var sv) && sv.ValueKind == JsonValueKind.Number && sv.TryGetInt32(out var v) ? v : (int?)null;

            if (schemaVersion == 1 || (declared is not null && MediaTypes.IsSchema1(declared)) || (payloadType is not null && MediaTypes.IsSchema1(payloadType)))
            {
                throw Invalid("Docker image manifest schema 1 is not supported; push with a client that writes schema 2 or OCI manifests");
            }

            var mediaType = ResolveMediaType(root, declared, payloadType);
            if (schemaVersion != 2)
            {
                throw Invalid("schemaVersion must be 2");
            }

            return MediaTypes.IsIndex(mediaType) ? ParseIndex(root, mediaType) : ParseImage(root, mediaType);
        }
    }

    private static string ResolveMediaType(JsonElement root, string? declared, string? payloadType)
    {
        var declaredIsManifestType = declared is not null && (IsSupportedMediaType(declared) || declared == MediaTypes.OciArtifactManifest);
        string mediaType;
        if (payloadType is not null)
        {
            if (declaredIsManifestType && declared != payloadType)
            {
                throw Invalid($"Content-Type '{declared}' does not match the manifest's mediaType '{payloadType}'");
            }

            mediaType = payloadType;
        }
        else if (declaredIsManifestType)
        {
            mediaType = declared!;
        }
        else if (root.TryGetProperty("manifests", out _))
        {
            mediaType = MediaTypes.OciIndex;
        }
        else if (root.TryGetProperty("config", out _))
        {
            mediaType = MediaTypes.OciManifest;
        }
        else
        {
            throw Invalid("cannot tell the manifest's media type: set mediaType or Content-Type");
        }

        if (mediaType == MediaTypes.OciArtifactManifest)
        {
            throw Invalid("the draft OCI artifact manifest is not supported; use an image manifest with artifactType");
        }

        if (!IsSupportedMediaType(mediaType))
        {
            throw Invalid($"unsupported manifest media type '{mediaType}'");
        }

        // Docker's formats always carry their mediaType; an OCI payload may omit it.
        if (payloadType is null && mediaType is MediaTypes.DockerManifest or MediaTypes.DockerManifestList)
        {
            throw Invalid("Docker manifests must declare mediaType");
        }

        return mediaType;
    }

    private static ParsedManifest ParseImage(JsonElement root, string mediaType)
    {
        if (root.TryGetProperty("manifests", out _))
        {
            throw Invalid("an image manifest must not have a 'manifests' field");
        }

        if (!root.TryGetProperty("config", out var configElement))
        {
            throw Invalid("image manifest has no config");
        }

        var config = ParseDescriptor(configElement, "config");
        var layers = ParseDescriptorArray(root, "layers", required: true);
        var artifactType = OptionalString(root, "artifactType");
        return new ParsedManifest
        {
            MediaType = mediaType,
            IsIndex = false,
            Config = config,
            Layers = layers,
            Subject = ParseSubject(root),
            ArtifactType = artifactType ?? config.MediaType,
            Annotations = ParseAnnotations(root, "annotations"),
        };
    }

    private static ParsedManifest ParseIndex(JsonElement root, string mediaType)
    {
        if (root.TryGetProperty("config", out _) || root.TryGetProperty("layers", out _))
        {
            throw Invalid("an image index must not have 'config' or 'layers'");
        }

        return new ParsedManifest
        {
            MediaType = mediaType,
            IsIndex = true,
            Manifests = ParseDescriptorArray(root, "manifests", required: true),
            Subject = ParseSubject(root),
            ArtifactType = OptionalString(root, "artifactType"),
            Annotations = ParseAnnotations(root, "annotations"),
        };
    }

    private static Descriptor? ParseSubject(JsonElement root) =>
        root.TryGetProperty("subject", out var subject) && subject.ValueKind != JsonValueKind.Null
            ? ParseDescriptor(subject, "subject")
            : null;

    private static List<Descriptor> ParseDescriptorArray(JsonElement root, string field, bool required)
    {
        if (!root.TryGetProperty(field, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return required ? throw Invalid($"'{field}' is missing") : [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Invalid($"'{field}' must be an array");
        }

        var result = new List<Descriptor>(array.GetArrayLength());
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            result.Add(ParseDescriptor(item, $"{field}[{i++}]"));
        }

        return result;
    }

    private static Descriptor ParseDescriptor(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"{where} must be a descriptor object");
        }

        var mediaType = OptionalString(element, "mediaType");
        if (string.IsNullOrEmpty(mediaType))
        {
            throw Invalid($"{where}.mediaType is missing");
        }

        var digestText = OptionalString(element, "digest");
        if (!Digest.TryParse(digestText, out var digest, out var digestError))
        {
            throw Invalid($"{where}.digest: {digestError}");
        }

        if (!digest.IsSupported)
        {
            throw Invalid($"{where}.digest uses the unsupported algorithm '{digest.Algorithm}'");
        }

        if (!element.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind != JsonValueKind.Number || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw Invalid($"{where}.size must be a non-negative integer");
        }

        IReadOnlyList<string>? urls = null;
        if (element.TryGetProperty("urls", out var urlsElement) && urlsElement.ValueKind == JsonValueKind.Array)
        {
            urls = [.. urlsElement.EnumerateArray().Where(u => u.ValueKind == JsonValueKind.String).Select(u => u.GetString()!)];
        }

        return new Descriptor(
            mediaType,
            digest,
            size,
            OptionalString(element, "artifactType"),
            ParsePlatform(element, where),
            urls,
            ParseAnnotations(element, $"{where}.annotations"));
    }

    private static Platform? ParsePlatform(JsonElement element, string where)
    {
        if (!element.TryGetProperty("platform", out var platform) || platform.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (platform.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"{where}.platform must be an object");
        }

        var os = OptionalString(platform, "os");
        var architecture = OptionalString(platform, "architecture");
        if (string.IsNullOrEmpty(os) || string.IsNullOrEmpty(architecture))
        {
            throw Invalid($"{where}.platform needs os and architecture");
        }

        return new Platform(os, architecture, OptionalString(platform, "variant"), OptionalString(platform, "os.version"));
    }

    private static Dictionary<string, string>? ParseAnnotations(JsonElement element, string field)
    {
        var name = field.Contains('.', StringComparison.Ordinal) ? "annotations" : field;
        if (!element.TryGetProperty(name, out var annotations) || annotations.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (annotations.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"{field} must be an object of strings");
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in annotations.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"{field}.{property.Name} must be a string");
            }

            result[property.Name] = property.Value.GetString()!;
        }

        return result;
    }

    private static string? OptionalString(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid($"'{name}' must be a string");
    }

    /// <summary>"application/json; charset=utf-8" → "application/json"; empty → null.</summary>
    public static string? NormalizeContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var bare = (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim();
        return bare.Length == 0 ? null : bare.ToLowerInvariant();
    }

    private static RegistryException Invalid(string detail) => new(ErrorCode.ManifestInvalid, detail);
}
