namespace Registry.Core.Manifests;

/// <summary>A content descriptor as manifests and indexes carry it.</summary>
public sealed record Descriptor(
    string MediaType,
    Digest Digest,
    long Size,
    string? ArtifactType = null,
    Platform? Platform = null,
    IReadOnlyList<string>? Urls = null,
    IReadOnlyDictionary<string, string>? Annotations = null);

public sealed record Platform(string Os, string Architecture, string? Variant = null, string? OsVersion = null)
{
    public override string ToString() =>
        Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
