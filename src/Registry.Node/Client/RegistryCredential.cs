namespace Registry.Node.Client;

/// <summary>
/// What we can prove to a registry: a user name and password (or personal access token), or an
/// identity token (an OAuth2 refresh token that <c>docker login</c> stores for some registries).
/// </summary>
public sealed record RegistryCredential(string? Username, string? Password, string? IdentityToken = null)
{
    public bool HasPassword => !string.IsNullOrEmpty(Username) && Password is not null;

    // Never print secrets, even in a debugger or a log line that formats the record.
    public override string ToString() => $"RegistryCredential {{ Username = {Username} }}";
}

/// <summary>The outcome of looking a registry up in a credentials source: a credential, and/or a note for the user.</summary>
public sealed record CredentialLookup(RegistryCredential? Credential, string? Notice)
{
    public static readonly CredentialLookup None = new(null, null);
}
