using System.Diagnostics.CodeAnalysis;

namespace Registry.Core.Access;

/// <summary>
/// One entry of the token scope grammar: <c>TYPE:NAME:ACTION[,ACTION…]</c>, as in
/// <c>repository:acme/api:pull,push</c> or <c>registry:catalog:*</c>. The type may carry a class in
/// parentheses (<c>repository(plugin)</c>); the name may contain a host with a port, so the type ends at the
/// first colon and the actions start after the last.
/// </summary>
public sealed record AccessScope(string Type, string Name, IReadOnlyList<string> Actions)
{
    public const string RepositoryType = "repository";
    public const string RegistryType = "registry";
    public const string CatalogName = "catalog";

    /// <summary>A repository scope for pull, push and delete flags.</summary>
    public static AccessScope Repository(string name, RegistryAction actions) => new(RepositoryType, name, ActionNames(actions));

    /// <summary>The registry's catalog; administrators only.</summary>
    public static AccessScope Catalog { get; } = new(RegistryType, CatalogName, ["*"]);

    /// <summary>The resource type without a class: <c>repository(plugin)</c> is a <c>repository</c>.</summary>
    public string BaseType => Type.IndexOf('(', StringComparison.Ordinal) is var i and >= 0 ? Type[..i] : Type;

    /// <summary>The repository actions named in this scope; unknown action names are ignored.</summary>
    public RegistryAction RepositoryActions => Actions.Aggregate(RegistryAction.None, (all, a) => all | ParseAction(a));

    public static bool TryParse(string? value, [NotNullWhen(true)] out AccessScope? scope)
    {
        scope = null;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var first = value.IndexOf(':', StringComparison.Ordinal);
        var last = value.LastIndexOf(':');
        if (first <= 0 || last == first || last == value.Length - 1)
        {
            return false;
        }

        var type = value[..first];
        var name = value[(first + 1)..last];
        if (!IsResourceType(type) || name.Length == 0)
        {
            return false;
        }

        var actions = value[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (actions.Length == 0 || actions.Any(a => a != "*" && !a.All(c => c is >= 'a' and <= 'z')))
        {
            return false;
        }

        scope = new AccessScope(type, name, actions.Distinct(StringComparer.Ordinal).ToArray());
        return true;
    }

    /// <summary>
    /// Parses every scope of a request: each value may hold several scopes separated by spaces (OAuth2 style,
    /// and how a challenge lists the scopes of a mount). Malformed entries are skipped, as a token server grants
    /// nothing for what it cannot read.
    /// </summary>
    public static IReadOnlyList<AccessScope> ParseAll(IEnumerable<string?> values) =>
        values
            .SelectMany(v => (v ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(s => TryParse(s, out var scope) ? scope : null)
            .OfType<AccessScope>()
            .ToList();

    public static RegistryAction ParseAction(string action) => action switch
    {
        "pull" => RegistryAction.Pull,
        "push" => RegistryAction.Push,
        "delete" => RegistryAction.Delete,
        "*" => RegistryAction.Pull | RegistryAction.Push | RegistryAction.Delete,
        _ => RegistryAction.None,
    };

    public static IReadOnlyList<string> ActionNames(RegistryAction actions)
    {
        var names = new List<string>(3);
        if (actions.HasFlag(RegistryAction.Pull))
        {
            names.Add("pull");
        }

        if (actions.HasFlag(RegistryAction.Push))
        {
            names.Add("push");
        }

        if (actions.HasFlag(RegistryAction.Delete))
        {
            names.Add("delete");
        }

        return names;
    }

    /// <summary>The scope as it is written in a challenge or a token request.</summary>
    public override string ToString() => $"{Type}:{Name}:{string.Join(',', Actions)}";

    private static bool IsResourceType(string type)
    {
        var open = type.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return IsTypeValue(type);
        }

        return type[^1] == ')' && IsTypeValue(type[..open]) && IsTypeValue(type[(open + 1)..^1]);
    }

    private static bool IsTypeValue(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
}
