using System.ComponentModel.DataAnnotations;

namespace Registry.Api.Identity;

/// <summary>Bound from <c>Registry:Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Registry:Auth";

    /// <summary>
    /// The password of the <c>admin</c> account created at first start (<c>REGISTRY_ADMIN_PASSWORD</c> also sets it).
    /// Without one a password is generated and written to <c>admin-password</c> in the data directory.
    /// </summary>
    public string? AdminPassword { get; set; }

    /// <summary>Whether callers without credentials may pull public repositories.</summary>
    public bool AnonymousPull { get; set; } = true;

    /// <summary>How long a registry token is valid.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a refresh token (docker's stored "identity token") is valid after it was issued.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>
    /// How long an upload session stays usable by the user who started it, even with an expired token, so a long
    /// push never fails half-way because its token ran out.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan UploadSessionLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The <c>service</c> of the challenge and the tokens' audience.</summary>
    [Required]
    public string Service { get; set; } = "registry";

    /// <summary>The tokens' issuer.</summary>
    [Required]
    public string Issuer { get; set; } = "registry";

    /// <summary>
    /// The token endpoint's absolute URL in challenges. By default it is derived from the request: its Host header when
    /// <c>AllowedHosts</c> lists the registry's hosts or the request came through a trusted proxy, else the address the
    /// connection was accepted on (a client never chooses where other clients send their credentials).
    /// </summary>
    public Uri? Realm { get; set; }

    /// <summary>Failed logins of one account from one address before further attempts are refused for a while.</summary>
    [Range(1, 1000)]
    public int LoginFailureLimit { get; set; } = 5;

    /// <summary>How long logins stay refused once the limit is reached.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LoginLockout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Failures older than this are forgotten.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(15);
}
