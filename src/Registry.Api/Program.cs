using Registry.Api;
using Registry.Api.Auth;
using Registry.Api.Cli;
using Registry.Api.Distribution;
using Registry.Api.Hosting;
using Registry.Api.Observability;
using Registry.Api.Rest;
using Registry.Api.Ui;

if (AdminCli.IsAdminCommand(args))
{
    return await AdminCli.RunAsync(args, CancellationToken.None);
}

if (ProbeCli.IsProbeCommand(args))
{
    return await ProbeCli.RunAsync(args, CancellationToken.None);
}

try
{
    // The content root is the application's own directory, so its appsettings.json applies wherever it is started from.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddRegistry();

    var app = builder.Build();
    await app.PrepareRegistryAsync();
    app.UseRegistryUi();
    app.UseLoginRateLimiter();
    app.MapRegistryObservability();
    app.MapTokenEndpoints();
    app.MapRestApi();
    app.MapDistributionApi();
    app.MapDockerSearchApi();
    app.MapRegistryUi();
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (StartupFailure.Describe(e) is { } problem)
{
    // A setting or the data directory to fix: one line, no stack trace.
    return StartupFailure.Report(problem);
}

/// <summary>Entry point; public so tests can host the application in process.</summary>
public partial class Program;
