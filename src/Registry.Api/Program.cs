using Registry.Api;
using Registry.Api.Auth;
using Registry.Api.Cli;
using Registry.Api.Distribution;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Api.Ui;
using Registry.Storage;

if (AdminCli.IsAdminCommand(args))
{
    return await AdminCli.RunAsync(args, CancellationToken.None);
}

// The content root is the application's own directory, so its appsettings.json applies wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddRegistry();

var app = builder.Build();
await app.Services.MigrateRegistryDatabaseAsync();
await app.Services.InitializeIdentityAsync(builder.Configuration.DataDirectory());
app.UseRegistryUi();
app.UseLoginRateLimiter();
app.MapTokenEndpoints();
app.MapRestApi();
app.MapDistributionApi();
app.MapDockerSearchApi();
app.MapRegistryUi();
await app.RunAsync();
return 0;

/// <summary>Entry point; public so tests can host the application in process.</summary>
public partial class Program;
