using System.CommandLine;

namespace Registry.Api.Cli;

/// <summary>
/// <c>Registry.Api probe [--url URL] [--timeout SECONDS]</c>: one GET, exit code 0 when it answers 200 and 1 otherwise
/// (one line on standard error says why). The container image's health check runs it: the ASP.NET runtime image has
/// neither curl nor wget, and this needs nothing but the registry's own binary. It never builds the web host, so it
/// starts in a fraction of a second and touches neither the database nor the data directory.
/// </summary>
public static class ProbeCli
{
    public const string DefaultUrl = "http://127.0.0.1:5000/healthz";

    public static bool IsProbeCommand(string[] args) => args is ["probe", ..];

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var url = new Option<Uri>("--url")
        {
            Description = "The address to GET",
            DefaultValueFactory = _ => new Uri(DefaultUrl),
            CustomParser = result => Uri.TryCreate(result.Tokens.Single().Value, UriKind.Absolute, out var uri)
                && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                    ? uri
                    : Fail(result, "--url must be an absolute http:// or https:// URL"),
        };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for the answer",
            DefaultValueFactory = _ => 5,
        };
        timeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 300)
            {
                result.AddError("--timeout must be between 1 and 300 seconds");
            }
        });

        var probe = new Command("probe", "GET a URL (by default the liveness endpoint) and exit 0 only when it answers 200") { url, timeout };
        probe.SetAction((parsed, token) => ProbeAsync(parsed.GetValue(url)!, TimeSpan.FromSeconds(parsed.GetValue(timeout)), token));
        var root = new RootCommand("Registry health probe") { probe };
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration(), ct);
    }

    private static Uri Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return new Uri(DefaultUrl);
    }

    private static async Task<int> ProbeAsync(Uri url, TimeSpan timeout, CancellationToken ct)
    {
        // No proxy: a health check asks the process next to it, never a proxy the environment names.
        using var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false };
        using var client = new HttpClient(handler) { Timeout = timeout };
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                return 0;
            }

            await Console.Error.WriteLineAsync($"registry probe: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            var reason = e is TaskCanceledException ? $"no answer within {timeout.TotalSeconds:0} s" : e.Message;
            await Console.Error.WriteLineAsync($"registry probe: {url}: {reason}");
            return 1;
        }
    }
}
