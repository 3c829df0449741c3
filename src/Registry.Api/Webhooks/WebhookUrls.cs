using Registry.Api.Identity;
using Registry.Storage.Webhooks;

namespace Registry.Api.Webhooks;

/// <summary>Which URLs a webhook may post to: absolute http or https, without credentials in them, on an allowed host.</summary>
public static class WebhookUrls
{
    /// <exception cref="IdentityException">The URL is refused (Invalid), with the reason.</exception>
    public static Uri Parse(string? text, IReadOnlyCollection<string> allowedHosts)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw IdentityException.Invalid("url is required");
        }

        if (text.Length > WebhookModel.MaxUrlLength)
        {
            throw IdentityException.Invalid($"url is longer than {WebhookModel.MaxUrlLength} characters");
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.IsFile || uri.IsUnc)
        {
            throw IdentityException.Invalid("url must be an absolute http:// or https:// URL");
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw IdentityException.Invalid($"url must use http or https, not {uri.Scheme}");
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            throw IdentityException.Invalid("url must not hold a user name or password; the secret authenticates deliveries");
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            throw IdentityException.Invalid("url must name a host");
        }

        if (!IsAllowed(uri, allowedHosts))
        {
            throw IdentityException.Invalid($"webhooks may not post to {uri.Host} on this registry (Registry:Webhooks:AllowedHosts)");
        }

        return uri;
    }

    /// <summary>Whether the host is one of the allowed ones; an empty list allows every host.</summary>
    public static bool IsAllowed(Uri uri, IReadOnlyCollection<string> allowedHosts)
    {
        if (allowedHosts.Count == 0)
        {
            return true;
        }

        var host = uri.IdnHost.Trim('[', ']').TrimEnd('.');
        foreach (var allowed in allowedHosts)
        {
            var pattern = allowed.Trim().TrimEnd('.');
            if (pattern.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase)
                : string.Equals(host, pattern.Trim('[', ']'), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
