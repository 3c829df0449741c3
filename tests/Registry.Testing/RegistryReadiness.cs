using System.Net;

namespace Registry.Testing;

/// <summary>
/// Waits until a freshly started registry answers <c>GET /v2/</c>: 200, or 401 with the
/// <c>Docker-Distribution-API-Version</c> header when it asks for a login (the header tells the
/// registry's own answer from some other server's 401).
/// </summary>
internal static class RegistryReadiness
{
    public static async Task WaitAsync(
        Uri baseAddress, ChildProcess process, string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var probe = new Uri(baseAddress, "/v2/");
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"The {name} exited before it served {probe}.\n--- its output ---\n{process.Output}");
            }

            try
            {
                using var response = await http.GetAsync(probe, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK
                    || (response.StatusCode == HttpStatusCode.Unauthorized && response.Headers.Contains("Docker-Distribution-API-Version")))
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode} {response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                last = e.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException(
            $"The {name} did not answer GET {probe} with 200 (or a 401 challenge) within {timeout} (last: {last}).\n"
            + $"--- its output ---\n{process.Output}");
    }
}
