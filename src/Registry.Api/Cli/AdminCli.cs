using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Registry.Api.Hosting;
using Registry.Api.Identity;
using Registry.Api.Security;
using Registry.Storage;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;

namespace Registry.Api.Cli;

/// <summary>
/// <c>Registry.Api admin …</c>: account chores for operators, run against the same configuration and database as
/// the server (the server may be running). Passwords are read from standard input with <c>--password-stdin</c>,
/// otherwise generated and printed once.
/// </summary>
public static class AdminCli
{
    public static bool IsAdminCommand(string[] args) => args is ["admin", ..];

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var name = new Argument<string>("NAME") { Description = "The user's name" };
        var admin = new Option<bool>("--admin") { Description = "Make the user an administrator" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input" };
        var adopt = new Option<bool>("--adopt-repositories")
        {
            Description = "Hand the user the repositories already in the namespace of its name (otherwise such a name is refused)",
        };

        var create = new Command("create-user", "Create a user") { name, admin, passwordStdin, adopt };
        create.SetAction((parsed, token) => WithServicesAsync(args, async services =>
        {
            var password = await PasswordAsync(parsed.GetValue(passwordStdin));
            var accounts = services.GetRequiredService<AccountService>();
            var user = await accounts.CreateUserAsync(parsed.GetValue(name)!, password.Value, parsed.GetValue(admin), parsed.GetValue(adopt), token);
            await services.GetRequiredService<AuditLog>().WriteAsync(AuditActions.UserCreate, "cli", user.Name,
                detail: Rest.UserEndpoints.CreationDetail(user.IsAdmin, parsed.GetValue(adopt)));
            await Console.Out.WriteLineAsync($"created user {user.Name}{(user.IsAdmin ? " (administrator)" : string.Empty)}");
            PrintGenerated(password);
        }));

        var reset = new Command("reset-password", "Set a user's password") { name, passwordStdin };
        reset.SetAction((parsed, token) => WithServicesAsync(args, async services =>
        {
            var password = await PasswordAsync(parsed.GetValue(passwordStdin));
            await services.GetRequiredService<AccountService>().SetPasswordAsync(parsed.GetValue(name)!, password.Value, token);
            await services.GetRequiredService<AuditLog>().WriteAsync(AuditActions.PasswordChange, "cli", parsed.GetValue(name));
            await Console.Out.WriteLineAsync($"password of {parsed.GetValue(name)} set");
            PrintGenerated(password);
        }));

        var rotate = new Command("rotate-signing-key", "Sign new tokens with a new key; tokens of the old key stay valid until they expire");
        rotate.SetAction((parsed, token) => WithServicesAsync(args, async services =>
        {
            var keys = services.GetRequiredService<SigningKeys>();
            await keys.EnsureKeyAsync(token);
            var id = await keys.RotateAsync(token);
            await services.GetRequiredService<AuditLog>().WriteAsync(AuditActions.SigningKeyRotate, "cli", id);
            await Console.Out.WriteLineAsync($"tokens are now signed with key {id}");
        }));

        var dryRun = new Option<bool>("--dry-run") { Description = "Report what would be collected now, and delete nothing" };
        var gc = new Command("gc", "Collect unused blobs and manifests now (the server may be running)") { dryRun };
        gc.SetAction((parsed, token) => WithServicesAsync(args, async services =>
        {
            var report = await services.GetRequiredService<GarbageCollector>().RunAsync(parsed.GetValue(dryRun), sweep: true, token);
            if (!report.DryRun)
            {
                await services.GetRequiredService<AuditLog>().WriteAsync(AuditActions.GcRun, "cli", target: null, detail: Rest.GcEndpoints.Describe(report));
            }

            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(report, Rest.ApiEndpoints.Json));
        }));

        var root = new RootCommand("Registry administration")
        {
            new Command("admin", "Administer accounts, keys and storage") { create, reset, rotate, gc },
        };
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration(), ct);
    }

    private static async Task<int> WithServicesAsync(string[] args, Func<IServiceProvider, Task> body)
    {
        DataDirectoryAccess.RestrictNewFiles();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Standard output carries the command's result (the JSON report of `admin gc`), for scripts to read.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddRegistryStorage(builder.Configuration, builder.Configuration.DataDirectory());
        builder.Services.AddRegistryIdentity();
        await using var app = builder.Build();
        try
        {
            app.Services.GetService<IStartupValidator>()?.Validate();
            DataDirectoryAccess.Secure(builder.Configuration.DataDirectory(), app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DataDirectoryAccess)));
            await app.Services.MigrateRegistryDatabaseAsync();
            await app.Services.ProtectKeysAtRestAsync();
            await using var scope = app.Services.CreateAsyncScope();
            await body(scope.ServiceProvider);
            return 0;
        }
        catch (IdentityException e)
        {
            await Console.Error.WriteLineAsync($"registry admin: {e.Message}");
            return 1;
        }
        catch (Exception e) when (StartupFailure.Describe(e) is { } problem)
        {
            await Console.Error.WriteLineAsync($"registry admin: {problem}");
            return StartupFailure.ExitCode;
        }
    }

    private sealed record Password(string Value, bool Generated);

    private static async Task<Password> PasswordAsync(bool fromStdin)
    {
        if (!fromStdin)
        {
            return new Password(Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_'), Generated: true);
        }

        var line = await Console.In.ReadLineAsync() ?? string.Empty;
        return new Password(line.TrimEnd('\r', '\n'), Generated: false);
    }

    private static void PrintGenerated(Password password)
    {
        if (password.Generated)
        {
            Console.Out.WriteLine($"password: {password.Value}");
        }
    }
}
