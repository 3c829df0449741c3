using Registry.Core.Manifests;

namespace Registry.Node.Client;

/// <summary>How a <see cref="RegistryClient"/> reaches and authenticates to one registry host.</summary>
public sealed record RegistryClientOptions
{
    /// <summary>Explicit credentials; they win over the docker config file.</summary>
    public RegistryCredential? Credential { get; init; }

    /// <summary>
    /// A registry token to send as <c>Authorization: Bearer</c> with every request, instead of
    /// answering challenges: a node pulls with the short-lived token its registry hands it with
    /// each container (docs/nodes.md), so no user secret is ever on the node. A 401 is final.
    /// </summary>
    public string? BearerToken { get; init; }

    /// <summary>The docker config file to read credentials from; null for none.</summary>
    public string? DockerConfigPath { get; init; }

    /// <summary>
    /// Speak plain HTTP to this registry. Loopback hosts (localhost, 127.0.0.0/8, ::1) always use
    /// plain HTTP, as docker treats them as insecure registries by default.
    /// </summary>
    public bool PlainHttp { get; init; }

    /// <summary>
    /// The platform to choose from an image index; null for linux/amd64. When set, a
    /// single-platform image of another platform is refused too (unset, it is taken as it is, as docker does).
    /// </summary>
    public Platform? Platform { get; init; }

    /// <summary>Limit for manifest, config and token requests (whole request).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A blob download fails when no byte arrives for this long (downloads themselves may take any time).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Attempts for requests that failed on the network or with a 5xx/429 answer.</summary>
    public int MaxAttempts { get; init; } = 3;

    // A record prints every property: never the bearer token.
    public override string ToString() => $"RegistryClientOptions {{ PlainHttp = {PlainHttp}, BearerToken = {(BearerToken is null ? "none" : "set")} }}";

    /// <summary>The credentials for <paramref name="registry"/>: explicit ones, else the docker config's.</summary>
    public CredentialLookup LookupCredential(string registry)
    {
        if (Credential is not null)
        {
            return new CredentialLookup(Credential, null);
        }

        return DockerConfigPath is null ? CredentialLookup.None : DockerConfigFile.Load(DockerConfigPath)?.Lookup(registry) ?? CredentialLookup.None;
    }
}
