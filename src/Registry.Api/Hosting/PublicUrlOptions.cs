using System.ComponentModel.DataAnnotations;

namespace Registry.Api.Hosting;

/// <summary>
/// Bound from <c>Registry</c>: <c>Registry:PublicUrl</c>, the URL under which clients reach the registry (a load
/// balancer in front of several replicas, a reverse proxy), e.g. <c>https://registry.example.com</c> or
/// <c>https://example.com/registry</c>. When set, every absolute URL the registry hands out starts with it (the token
/// realm of a challenge, unless <c>Registry:Auth:Realm</c> names one) and the web UI shows its host in docker commands
/// (unless <c>Registry:Ui:PublicHost</c> does). Without it those are derived from each request (<see cref="PublicOrigin"/>).
/// </summary>
public sealed class PublicUrlOptions : IValidatableObject
{
    public const string Section = "Registry";

    public string? PublicUrl { get; set; }

    /// <summary>The configured URL without a trailing slash, or null when none is set.</summary>
    public string? Origin => Parse(PublicUrl) is { } uri ? uri.GetLeftPart(UriPartial.Path).TrimEnd('/') : null;

    /// <summary><c>host[:port]</c> of the configured URL, as docker references name a registry; null when none is set.</summary>
    public string? Authority => Parse(PublicUrl) is { } uri ? (uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}") : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(PublicUrl))
        {
            yield break;
        }

        if (!Uri.TryCreate(PublicUrl.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host))
        {
            yield return new ValidationResult(
                $"'{PublicUrl}' is not an absolute http or https URL (e.g. https://registry.example.com)", [nameof(PublicUrl)]);
        }
        else if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            yield return new ValidationResult(
                $"'{PublicUrl}' must be a scheme, host, optional port and optional path, without user, query or fragment", [nameof(PublicUrl)]);
        }
    }

    private static Uri? Parse(string? value) =>
        !string.IsNullOrWhiteSpace(value) && Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) ? uri : null;
}
