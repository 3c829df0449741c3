using Registry.Testing;

namespace Registry.E2E.Tests;

/// <summary>
/// <c>Registry.Api probe</c>, the container image's health check, as the image runs it: the registry's own binary,
/// against a running registry. Exit code 0 only for a 200; anything else is 1 with one line saying why.
/// </summary>
public sealed class ProbeCommandTests : IAsyncLifetime
{
    private RegistryProcess? _registry;

    private RegistryProcess Registry => _registry ?? throw new InvalidOperationException("The registry did not start.");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        _registry = await RegistryProcess.StartAsync(cancellationToken: timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_page_that_answers_200_passes()
    {
        var result = await ProbeAsync("--url", new Uri(Registry.BaseAddress, "/").ToString());

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(string.Empty, result.StandardError);
    }

    [Fact]
    public async Task Any_other_status_fails_and_says_which()
    {
        var url = new Uri(Registry.BaseAddress, "/v2/").ToString();

        var result = await ProbeAsync("--url", url);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"registry probe: {url} answered 401 Unauthorized", result.StandardError.Trim());
    }

    [Fact]
    public async Task A_closed_port_fails_at_once()
    {
        var url = $"http://127.0.0.1:{FreePort.Get()}/healthz";

        var result = await ProbeAsync("--url", url, "--timeout", "3");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"registry probe: {url}: Connection refused", result.StandardError.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_url_that_is_not_http_is_refused_as_a_usage_error()
    {
        var result = await ProbeAsync("--url", "file:///etc/passwd");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--url must be an absolute http:// or https:// URL", result.StandardError, StringComparison.Ordinal);
    }

    private static Task<ProcessResult> ProbeAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("dotnet", [RegistryProcess.FindApiAssembly(), "probe", .. arguments], TimeSpan.FromMinutes(1));
}
