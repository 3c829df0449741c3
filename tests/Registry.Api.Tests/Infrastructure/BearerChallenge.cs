using System.Net.Http.Headers;
using System.Text;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>
/// A parsed <c>WWW-Authenticate: Bearer realm="...",service="...",scope="..."</c> challenge. The
/// scope value may hold several space-separated scopes (a mount asks for the target and the source).
/// </summary>
internal sealed record BearerChallenge(Uri Realm, string? Service, IReadOnlyList<string> Scopes, string? Error)
{
    public static BearerChallenge? From(HttpResponseMessage response) =>
        response.Headers.WwwAuthenticate.Select(From).FirstOrDefault(c => c is not null);

    public static BearerChallenge? From(AuthenticationHeaderValue header)
    {
        if (!string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return null;
        }

        var parameters = ParseParameters(header.Parameter);
        if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            return null;
        }

        var scopes = parameters.TryGetValue("scope", out var scope)
            ? scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : [];
        return new BearerChallenge(realmUri, parameters.GetValueOrDefault("service"), scopes, parameters.GetValueOrDefault("error"));
    }

    /// <summary>The auth-param list of RFC 9110: <c>name=token</c> or <c>name="quoted \" string"</c>, separated by commas.</summary>
    internal static Dictionary<string, string> ParseParameters(string text)
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

                i++; // the closing quote
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
