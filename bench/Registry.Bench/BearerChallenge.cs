using System.Net;
using System.Text;

namespace Registry.Bench;

/// <summary>
/// A <c>WWW-Authenticate: Bearer realm="…",service="…",scope="…"</c> challenge (Docker token authentication):
/// where to get a token, for which service, and the scopes the refused request needs (space separated).
/// </summary>
internal sealed record BearerChallenge(Uri Realm, string? Service, IReadOnlyList<string> Scopes)
{
    /// <summary>The Bearer challenge of a 401, or null when the response has none (a registry without token auth).</summary>
    public static BearerChallenge? From(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return null;
        }

        foreach (var header in response.Headers.WwwAuthenticate)
        {
            if (!header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
            {
                continue;
            }

            var parameters = ParseParameters(header.Parameter);
            if (parameters.TryGetValue("realm", out var realm) && Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
            {
                var scopes = parameters.TryGetValue("scope", out var scope)
                    ? scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    : [];
                return new BearerChallenge(realmUri, parameters.GetValueOrDefault("service"), scopes);
            }
        }

        return null;
    }

    /// <summary>Parses <c>name="quoted, with commas",name=token</c> pairs (RFC 9110 auth-params).</summary>
    private static Dictionary<string, string> ParseParameters(string text)
    {
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
            {
                i++;
            }

            var equals = text.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var name = text[i..equals].Trim();
            i = equals + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i]);
                }

                i++;
            }
            else
            {
                for (; i < text.Length && text[i] != ','; i++)
                {
                    value.Append(text[i]);
                }
            }

            parameters[name] = value.ToString().Trim();
        }

        return parameters;
    }
}
