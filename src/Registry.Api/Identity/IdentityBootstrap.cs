using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// First-start set-up of identity: a token signing key, and an administrator when there is none. The
/// administrator's password comes from configuration; otherwise one is generated and written to a file only the
/// owner can read. Its path is logged, never the password.
/// </summary>
public static partial class IdentityBootstrap
{
    public const string AdminName = "admin";
    public const string PasswordFileName = "admin-password";

    public static async Task InitializeIdentityAsync(this IServiceProvider services, string dataDirectory, CancellationToken ct = default)
    {
        await services.GetRequiredService<SigningKeys>().EnsureKeyAsync(ct);

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        if (await db.Accounts.AnyAsync(a => a.IsAdmin && a.Kind == AccountKind.User, ct))
        {
            return;
        }

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(IdentityBootstrap));
        var configured = services.GetRequiredService<IOptions<AuthOptions>>().Value.AdminPassword
            ?? Environment.GetEnvironmentVariable("REGISTRY_ADMIN_PASSWORD");
        var password = string.IsNullOrEmpty(configured) ? GeneratePassword() : configured;

        var admin = await db.Accounts.FirstOrDefaultAsync(a => a.Name == AdminName, ct);
        if (admin is null)
        {
            admin = new AccountEntity { Name = AdminName, Kind = AccountKind.User, CreatedAt = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime };
            db.Accounts.Add(admin);
        }

        admin.IsAdmin = true;
        admin.IsDisabled = false;
        admin.PasswordHash = scope.ServiceProvider.GetRequiredService<IPasswordHasher<AccountEntity>>().HashPassword(admin, password);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another replica created it at the same time; anything else is a real failure.
            db.ChangeTracker.Clear();
            if (await db.Accounts.AnyAsync(a => a.IsAdmin, ct))
            {
                return;
            }

            throw;
        }

        if (string.IsNullOrEmpty(configured))
        {
            var path = Path.Combine(dataDirectory, PasswordFileName);
            await WriteOwnerOnlyAsync(path, password + "\n", ct);
            LogGenerated(logger, AdminName, path);
        }
        else
        {
            LogConfigured(logger, AdminName);
        }
    }

    private static string GeneratePassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');

    private static async Task WriteOwnerOnlyAsync(string path, string content, CancellationToken ct)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var file = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
        {
            // An existing file keeps its old mode on create; make sure it is owner-only.
            File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        await using var writer = new StreamWriter(file);
        await writer.WriteAsync(content.AsMemory(), ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Created administrator '{Name}' with a generated password, written to {Path} (readable by this user only)")]
    private static partial void LogGenerated(ILogger logger, string name, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created administrator '{Name}' with the configured password")]
    private static partial void LogConfigured(ILogger logger, string name);
}
