namespace Registry.Api.Ui;

/// <summary>Settings of the web UI, bound from <c>Registry:Ui</c> and <c>Registry:Auth:AllowSignUp</c>.</summary>
public sealed class UiOptions
{
    public const string Section = "Registry:Ui";

    /// <summary>How long a UI session lasts without use.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>The host name shown in pull and login commands; by default the host of <c>Registry:PublicUrl</c>, else the request's.</summary>
    public string? PublicHost { get; set; }

    /// <summary>
    /// When the UI's session and message cookies carry the Secure flag: <see cref="CookieSecurity.Auto"/> on HTTPS
    /// requests, served directly or through a trusted proxy that says so in <c>X-Forwarded-Proto</c>;
    /// <see cref="CookieSecurity.Always"/> on every request, for a registry that is only ever reached over HTTPS (the
    /// antiforgery cookie, which holds no session, always follows the request).
    /// </summary>
    public CookieSecurity SecureCookies { get; set; } = CookieSecurity.Auto;
}

public enum CookieSecurity
{
    Auto,
    Always,
}
