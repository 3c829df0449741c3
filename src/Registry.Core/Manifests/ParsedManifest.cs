namespace Registry.Core.Manifests;

/// <summary>A manifest or index that passed validation, with the references the store must check.</summary>
public sealed record ParsedManifest
{
    public required string MediaType { get; init; }

    /// <summary>True for an image index / manifest list, false for an image manifest.</summary>
    public required bool IsIndex { get; init; }

    public Descriptor? Config { get; init; }

    public IReadOnlyList<Descriptor> Layers { get; init; } = [];

    /// <summary>The child manifests of an index.</summary>
    public IReadOnlyList<Descriptor> Manifests { get; init; } = [];

    public Descriptor? Subject { get; init; }

    /// <summary>
    /// The artifact type shown in the referrers API: the manifest's own <c>artifactType</c>, or for an
    /// image manifest without one, its config's media type.
    /// </summary>
    public string? ArtifactType { get; init; }

    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>The blobs that must be present in the repository before this manifest is accepted.</summary>
    public IEnumerable<Descriptor> RequiredBlobs
    {
        get
        {
            if (Config is not null)
            {
                yield return Config;
            }

            foreach (var layer in Layers)
            {
                if (!(MediaTypes.IsNondistributable(layer.MediaType) && layer.Urls is { Count: > 0 }))
                {
                    yield return layer;
                }
            }
        }
    }
}
