using System.Text;

namespace Registry.Core.Access;

/// <summary>
/// One <c>WWW-Authenticate</c> challenge: a scheme (<c>Basic</c>, <c>Bearer</c>) and its parameters
/// (<c>realm</c>, <c>service</c>, <c>scope</c>, <c>error</c>, …), per the auth-param grammar of RFC 9110.
/// The one parser of challenges: the node's registry client, the tests' clients and the bench tool read them here.
/// </summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public string? this[string name] => Parameters.TryGetValue(name, out var v) ? v : null;

    /// <summary>Where to ask for a token, as sent.</summary>
    public string? Realm => this["realm"];

    /// <summary>The realm as an absolute URI, or null when it is missing or not one.</summary>
    public Uri? RealmUri => Uri.TryCreate(Realm, UriKind.Absolute, out var uri) ? uri : null;

    public string? Service => this["service"];

    /// <summary>Why a token was refused (<c>invalid_token</c>, <c>insufficient_scope</c>), when the server says.</summary>
    public string? Error => this["error"];

    /// <summary>
    /// The scopes the refused request needs. One <c>scope="…"</c> may hold several, separated by spaces
    /// (a cross-repository mount asks for the target and the source).
    /// </summary>
    public IReadOnlyList<string> Scopes => this["scope"]?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Parses <c>Bearer realm="…",service="…",scope="…"</c>; null when the header holds no scheme.</summary>
    public static AuthChallenge? Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        var text = header.Trim();
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? text : text[..space];
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = space < 0 ? text.Length : space + 1;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
            {
                i++;
            }

            var eq = text.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var name = text[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < text.Length && text[i] == '"')
            {
                // A quoted string: backslash escapes the next character; a comma inside (as in scope lists) is data.
                var builder = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    builder.Append(text[i]);
                    i++;
                }

                i++;
                value = builder.ToString();
            }
            else
            {
                var comma = text.IndexOf(',', i);
                var end = comma < 0 ? text.Length : comma;
                value = text[i..end].Trim();
                i = end;
            }

            if (name.Length > 0)
            {
                parameters[name] = value;
            }
        }

        return new AuthChallenge(scheme, parameters);
    }
}
