using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Registry.Api.Identity;

namespace Registry.Api.Auth;

/// <summary>
/// Bounds what one token request may carry: at most <see cref="AuthOptions.MaxScopesPerTokenRequest"/> scopes
/// (counted before any is parsed or looked up) and, for the OAuth2 form, a body of a size those scopes need.
/// </summary>
internal static class TokenRequestLimits
{
    /// <summary>Room for one scope in a URL-encoded form: a 255-character name with its type and actions, escaped.</summary>
    private const int BytesPerScope = 1024;

    /// <summary>Room for the form's other fields (grant type, user name, password, refresh token, client id, service).</summary>
    private const int OtherFieldsBytes = 8 * 1024;

    /// <summary>The largest token request form accepted.</summary>
    public static long MaxFormBytes(AuthOptions options) => OtherFieldsBytes + ((long)BytesPerScope * options.MaxScopesPerTokenRequest);

    /// <summary>Why the scopes are refused, or null when there are few enough.</summary>
    public static string? CheckScopes(StringValues values, AuthOptions options)
    {
        var count = 0;
        foreach (var value in values)
        {
            count += CountWords(value);
        }

        return count > options.MaxScopesPerTokenRequest
            ? $"a token request asks for at most {options.MaxScopesPerTokenRequest} scopes"
            : null;
    }

    /// <summary>
    /// Reads the OAuth2 form within <see cref="MaxFormBytes"/> and checks its scopes. Returns no form, and the
    /// reason, when the body is larger or asks for too many scopes; the rest of an oversized body is never read.
    /// </summary>
    public static async Task<(IFormCollection? Form, string Refusal)> ReadFormAsync(HttpContext context, AuthOptions options)
    {
        var limit = MaxFormBytes(options);
        var tooLarge = $"the form is too large: at most {limit} bytes and {options.MaxScopesPerTokenRequest} scopes";
        if (context.Request.ContentLength > limit)
        {
            return (null, tooLarge);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        try
        {
            // Without a Content-Length, the value count and length limits bound what is read.
            var form = await context.Request.ReadFormAsync(
                new FormOptions { ValueCountLimit = options.MaxScopesPerTokenRequest + 16, ValueLengthLimit = (int)limit, KeyLengthLimit = 64, BufferBody = false },
                context.RequestAborted);
            return CheckScopes(form["scope"], options) is { } tooMany ? (null, tooMany) : (form, string.Empty);
        }
        catch (InvalidDataException)
        {
            return (null, tooLarge);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, tooLarge);
        }
    }

    private static int CountWords(string? value)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in value.AsSpan())
        {
            if (c == ' ')
            {
                inWord = false;
            }
            else if (!inWord)
            {
                inWord = true;
                count++;
            }
        }

        return count;
    }
}
