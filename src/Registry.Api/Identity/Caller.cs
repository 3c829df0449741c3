using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// A signed-in user, and the personal access token it signed in with, if any. A caller that signed in with a
/// password carries a stamp of that password, so that what it obtained ends when the password changes.
/// </summary>
public sealed record Caller(long UserId, string Name, bool IsAdmin, TokenLimit? Token = null, string? PasswordStamp = null)
{
    /// <summary>Administrators without a narrowing token may list every repository.</summary>
    public bool MayListCatalog => IsAdmin && (Token is null || Token is { Namespace: null, Repository: null });

    /// <summary>The administrator's and org owner's rights over settings need a full session, not a limited token.</summary>
    public bool HasUnlimitedToken => Token is null || Token is { Scope: TokenScope.ReadWriteDelete, Namespace: null, Repository: null };
}

/// <summary>What a personal access token narrows its owner's rights to.</summary>
public sealed record TokenLimit(long TokenId, TokenScope Scope, string? Namespace, string? Repository)
{
    public static TokenLimit Of(AccessTokenEntity token) => new(token.Id, token.Scope, token.Namespace, token.Repository);

    public RegistryAction Apply(string repository, RegistryAction actions)
    {
        if (Repository is not null && !string.Equals(Repository, repository, StringComparison.Ordinal))
        {
            return RegistryAction.None;
        }

        if (Namespace is not null && !string.Equals(Namespace, RepositoryName.NamespaceOf(repository), StringComparison.Ordinal))
        {
            return RegistryAction.None;
        }

        return actions & Actions(Scope);
    }

    public static RegistryAction Actions(TokenScope scope) => scope switch
    {
        TokenScope.Read => RegistryAction.Pull,
        TokenScope.ReadWrite => RegistryAction.Pull | RegistryAction.Push,
        _ => RegistryAction.Pull | RegistryAction.Push | RegistryAction.Delete,
    };
}
