using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Registry.Api.Access;
using Registry.Api.Auth;
using Registry.Api.Hosting;
using Registry.Api.Identity;
using Registry.Api.Nodes;
using Registry.Api.Observability;
using Registry.Api.Rest;
using Registry.Api.Security;
using Registry.Api.Ui;
using Registry.Api.Webhooks;
using Registry.Storage.Metadata;
using Registry.Storage;

namespace Registry.Api;

public static class RegistryHostExtensions
{
    /// <summary>
    /// Where the embedded default keeps its database and blobs: <c>REGISTRY_DATA_DIR</c>, else
    /// <c>Registry:DataDirectory</c>, else <c>./data</c>.
    /// </summary>
    public static string DataDirectory(this IConfiguration configuration) =>
        Path.GetFullPath(Environment.GetEnvironmentVariable("REGISTRY_DATA_DIR") is { Length: > 0 } env
            ? env
            : configuration["Registry:DataDirectory"] ?? "data");

    /// <summary>
    /// What runs before the server answers, in order: every setting is validated (before anything is written), the
    /// data directory is made private, then, one replica at a time (<see cref="StartupLock"/>), the schema is migrated,
    /// keys at rest are checked and encrypted, identity is set up (signing key, administrator) and the Data Protection
    /// key ring gets its first key.
    /// </summary>
    public static async Task PrepareRegistryAsync(this WebApplication app, CancellationToken ct = default)
    {
        app.Services.GetService<IStartupValidator>()?.Validate();
        var dataDirectory = app.Configuration.DataDirectory();
        DataDirectoryAccess.Secure(dataDirectory, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DataDirectoryAccess)));

        // Replicas sharing a database take these steps one at a time: each is "look, then create".
        await using (await StartupLock.AcquireAsync(app.Services, ct))
        {
            await app.Services.MigrateRegistryDatabaseAsync(ct);
            await app.Services.ProtectKeysAtRestAsync(ct);
            await app.Services.InitializeIdentityAsync(dataDirectory, ct);
            app.Services.EnsureDataProtectionKey();
        }
    }

    public static WebApplicationBuilder AddRegistry(this WebApplicationBuilder builder)
    {
        DataDirectoryAccess.RestrictNewFiles();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        builder.Services.AddProxyHeaders();
        builder.Services.AddRegistryObservability();
        builder.Services.AddRegistryStorage(builder.Configuration, builder.Configuration.DataDirectory());
        builder.Services.AddRegistryIdentity();
        builder.Services.AddRegistryUi();
        builder.Services.AddRegistryWebhooks();
        builder.Services.AddRegistryNodes();
        return builder;
    }

    /// <summary>Accounts, credentials, registry tokens and the authorizer that every /v2 request passes.</summary>
    public static IServiceCollection AddRegistryIdentity(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SecretsOptions>().BindConfiguration(SecretsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<KeyEncryptionKey>();
        services.AddHttpContextAccessor();
        services.AddSingleton<IPasswordHasher<AccountEntity>, PasswordHasher<AccountEntity>>();
        services.AddSingleton<SigningKeys>();
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<ValidatedTokenCache>();
        services.AddSingleton<CurrentAccessCache>();
        services.AddSingleton<AuditLog>();
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AuditRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditRetention>());
        services.AddScoped<LoginThrottle>();
        services.AddScoped<CredentialService>();
        services.AddScoped<PermissionService>();
        services.AddScoped<Policies.NamespaceAccess>();
        services.AddScoped<TokenGrants>();
        services.AddSingleton<IdentityJanitor>();
        services.AddHostedService(sp => sp.GetRequiredService<IdentityJanitor>());
        services.AddScoped<AccountService>();
        services.AddScoped<UserRemoval>();
        services.AddScoped<AccessTokenService>();
        services.AddScoped<NodePullAccess>();
        services.AddScoped<IAccessAuthorizer, TokenAccessAuthorizer>();
        services.AddAuthentication()
            .AddRegistryTokens()
            .AddScheme<AuthenticationSchemeOptions, ApiAuthenticationHandler>(ApiAuthenticationHandler.SchemeName, _ => { });
        services.AddAuthorization();
        services.AddLoginRateLimiter();
        return services;
    }
}
