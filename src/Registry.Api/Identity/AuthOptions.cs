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

    /// <summary>
    /// How long a replica relies on what it last read about a registry token's user, access token and permissions.
    /// A deleted or suspended access token, a disabled user, a changed password or a removed permission stops the
    /// registry tokens already issued within this time, on every replica. Zero reads the metadata store on every request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PermissionCacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most upload sessions one user may have open at once; starting another is refused (429 TOOMANYREQUESTS)
    /// until one is finished, cancelled or expired.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxUploadSessionsPerUser { get; set; } = 100;

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

    /// <summary>
    /// The most scopes one token request may ask for; a request with more is refused (400 invalid_request) before
    /// any is looked at. It also bounds the size of the token endpoint's form.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxScopesPerTokenRequest { get; set; } = 50;

    /// <summary>
    /// Wrong passwords for one account from one address (within <see cref="LoginFailureWindow"/>) before password
    /// attempts of that pair are refused for a while. Access tokens are not affected.
    /// </summary>
    [Range(1, 1000)]
    public int LoginFailureLimit { get; set; } = 5;

    /// <summary>
    /// Wrong passwords for one account from all addresses together (within <see cref="LoginFailureWindow"/>) before
    /// password attempts are refused from every address where the password was not right lately. Zero turns this off.
    /// </summary>
    [Range(0, 100_000)]
    public int AccountLoginFailureLimit { get; set; } = 50;

    /// <summary>How long password attempts stay refused after the first lockout; each further lockout in a row doubles it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LoginLockout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The longest lockout; once the last lockout ended this long ago, the doubling starts over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan MaxLoginLockout { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Failures older than this are forgotten.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(15);
}
