using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Registry.Api.Security;

namespace Registry.Api.Ui;

/// <summary>
/// The web UI: Razor Pages under <c>Ui/Pages</c> served at <c>/</c>, a cookie session of its own, Data Protection
/// keys in the metadata database (their secrets encrypted with the key-encryption key), security headers, and the UI's
/// two static files.
/// </summary>
public static class UiSetup
{
    public const string CookieScheme = "RegistryUi";

    public static IServiceCollection AddRegistryUi(this IServiceCollection services)
    {
        services.AddOptions<UiOptions>().BindConfiguration(UiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddRazorPages(o => o.RootDirectory = "/Ui/Pages");
        services.AddSingleton<DbXmlRepository>();
        services.AddDataProtection().SetApplicationName("registry");
        services.AddOptions<KeyManagementOptions>().Configure<DbXmlRepository, KeyEncryptionKey>((o, repository, key) =>
        {
            o.XmlRepository = repository;
            o.XmlEncryptor = new KeyRingEncryptor(key);
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "registry_antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.AddAuthentication().AddCookie(CookieScheme, o =>
        {
            o.Cookie.Name = "registry_session";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.SlidingExpiration = true;
            o.LoginPath = "/login";
            o.LogoutPath = "/logout";
            o.AccessDeniedPath = "/login";
        });
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<IOptions<UiOptions>>((o, ui) =>
        {
            o.ExpireTimeSpan = ui.Value.SessionLifetime;
            o.Cookie.SecurePolicy = SecurePolicy(ui.Value);
        });

        // The antiforgery cookie follows the request: with Always, ASP.NET refuses to render any form on a request it
        // does not see as HTTPS, which would break the UI behind a proxy that does not send X-Forwarded-Proto.
        services.AddOptions<AntiforgeryOptions>().Configure(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        services.AddOptions<CookieTempDataProviderOptions>().Configure<IOptions<UiOptions>>((o, ui) => o.Cookie.SecurePolicy = SecurePolicy(ui.Value));
        return services;
    }

    /// <summary>
    /// Makes sure the key ring has a key that protects now, creating it if not. Run at start-up inside the replicas'
    /// start-up lock, so that replicas starting together on an empty database share one key rather than each creating
    /// its own (Data Protection would otherwise create one on first use, on each replica at once).
    /// </summary>
    public static void EnsureDataProtectionKey(this IServiceProvider services) =>
        services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Registry.Startup").Protect([1]);

    /// <summary>
    /// Security headers and error pages for the UI's responses; the registry APIs keep their own formats. Over HTTPS
    /// (directly or through a trusted proxy) the UI also sends HSTS, so a browser that once reached it securely never
    /// sends its session over plain HTTP to that host again.
    /// </summary>
    public static WebApplication UseRegistryUi(this WebApplication app)
    {
        app.UseWhen(context => IsUiPath(context.Request.Path), ui =>
        {
            ui.UseHsts();
            ui.Use((context, next) =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy =
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "same-origin";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                return next(context);
            });
            ui.UseStatusCodePages(context => ErrorPage.WriteAsync(context.HttpContext));
        });
        return app;
    }

    public static IEndpointRouteBuilder MapRegistryUi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/static/{file}", (string file) => UiAssets.Serve(file));
        endpoints.MapRazorPages();
        return endpoints;
    }

    private static CookieSecurePolicy SecurePolicy(UiOptions ui) =>
        ui.SecureCookies == CookieSecurity.Always ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;

    /// <summary>Everything but the registry's machine interfaces.</summary>
    public static bool IsUiPath(PathString path) =>
        !path.StartsWithSegments("/v2") && !path.StartsWithSegments("/api") && !path.StartsWithSegments("/auth") && !path.StartsWithSegments("/v1");
}
