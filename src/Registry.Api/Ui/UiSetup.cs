using Microsoft.AspNetCore.Authentication.Cookies;
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
        services.AddOptions<UiOptions>().BindConfiguration(UiOptions.Section);
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
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.SlidingExpiration = true;
            o.LoginPath = "/login";
            o.LogoutPath = "/logout";
            o.AccessDeniedPath = "/login";
        });
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<Microsoft.Extensions.Options.IOptions<UiOptions>>(
            (o, ui) => o.ExpireTimeSpan = ui.Value.SessionLifetime);
        return services;
    }

    /// <summary>Security headers and error pages for the UI's responses; the registry APIs keep their own formats.</summary>
    public static WebApplication UseRegistryUi(this WebApplication app)
    {
        app.UseWhen(context => IsUiPath(context.Request.Path), ui =>
        {
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

    /// <summary>Everything but the registry's machine interfaces.</summary>
    public static bool IsUiPath(PathString path) =>
        !path.StartsWithSegments("/v2") && !path.StartsWithSegments("/api") && !path.StartsWithSegments("/auth") && !path.StartsWithSegments("/v1");
}
