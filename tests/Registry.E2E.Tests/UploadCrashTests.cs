using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Registry.Testing;
using Registry.Testing.Images;
using Xunit.Abstractions;

namespace Registry.E2E.Tests;

/// <summary>
/// The registry process is killed (SIGKILL) while a blob upload's PATCH body is still arriving,
/// then restarted on the same data. No partial blob may appear, and the upload can go on.
/// (The reference registry fails the resume test: its upload URL carries a signed state with
/// the offset of the last finished request, which no longer matches the stored data.)
/// </summary>
public sealed class UploadCrashTests(ITestOutputHelper output)
{
    private const int BlobSize = 8 * 1024 * 1024;
    private const int SentBeforeCrash = 5 * 1024 * 1024;

    [Fact]
    public async Task Upload_killed_mid_patch_resumes_from_the_committed_offset_after_restart()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        await using var registry = await RegistryUnderTest.StartAsync(ct);
        await ResumeAfterCrashAsync(registry, ct);
    }

    /// <summary>
    /// On PostgreSQL the killed process's write lease is known to be free because its database session, which held
    /// its presence, ended with it: the restarted registry resumes at once rather than after the lease runs out.
    /// </summary>
    [Fact]
    public async Task Upload_killed_mid_patch_resumes_at_once_on_postgresql()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var postgres = await PostgresServer.GetAsync();
        var connectionString = await postgres.CreateDatabaseAsync(ct);
        await using var registry = await RegistryProcess.StartAsync(
            environment: new Dictionary<string, string?>
            {
                ["Registry__Database__Provider"] = "Postgres",
                ["Registry__Database__ConnectionString"] = connectionString,
            },
            cancellationToken: ct);
        await ResumeAfterCrashAsync(registry, ct);
    }

    private async Task ResumeAfterCrashAsync(IRegistryServer registry, CancellationToken ct)
    {
        using var http = NewClient(registry);
        var repository = TestNames.Repository("crash-resume");
        var blob = RandomNumberGenerator.GetBytes(BlobSize);
        var digest = Blob.ComputeDigest(blob);

        var location = await CrashDuringPatchAsync(registry, http, repository, blob, ct);

        await AssertBlobUnknownAsync(http, repository, digest, ct);
        using var status = await http.GetAsync(location, ct);
        Assert.True(status.StatusCode == HttpStatusCode.NoContent, await DescribeAsync(status, ct));
        var offset = CommittedOffset(status);
        output.WriteLine($"{SentBeforeCrash} bytes sent before the crash; the registry kept {offset}.");
        Assert.InRange(offset, 0, SentBeforeCrash);
        location = ResolveLocation(status, location);

        using var patch = new HttpRequestMessage(HttpMethod.Patch, location)
        {
            Content = new ByteArrayContent(blob, (int)offset, blob.Length - (int)offset),
        };
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        patch.Content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{blob.Length - 1}");
        using var patched = await http.SendAsync(patch, ct);
        Assert.True(patched.StatusCode == HttpStatusCode.Accepted, await DescribeAsync(patched, ct));
        Assert.Equal(blob.Length, CommittedOffset(patched));
        location = ResolveLocation(patched, location);

        await FinishAsync(http, location, digest, ct);
        await AssertBlobContentAsync(http, repository, digest, blob, ct);
    }

    [Fact]
    public async Task Upload_killed_mid_patch_can_be_restarted_after_restart()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        await using var registry = await RegistryUnderTest.StartAsync(ct);
        using var http = NewClient(registry);
        var repository = TestNames.Repository("crash-restart");
        var blob = RandomNumberGenerator.GetBytes(BlobSize);
        var digest = Blob.ComputeDigest(blob);

        var abandoned = await CrashDuringPatchAsync(registry, http, repository, blob, ct);
        await AssertBlobUnknownAsync(http, repository, digest, ct);

        // A new session for the same blob, as a client does when it gives up on the old one.
        using var start = await http.PostAsync($"/v2/{repository}/blobs/uploads/", null, ct);
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, await DescribeAsync(start, ct));
        var location = ResolveLocation(start, new Uri(http.BaseAddress!, $"/v2/{repository}/blobs/uploads/"));
        using var put = new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest))
        {
            Content = new ByteArrayContent(blob),
        };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var created = await http.SendAsync(put, ct);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await DescribeAsync(created, ct));
        await AssertBlobContentAsync(http, repository, digest, blob, ct);

        // The abandoned session can be cancelled; it never turns into a blob.
        using var cancel = await http.DeleteAsync(abandoned, ct);
        Assert.True(cancel.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound, await DescribeAsync(cancel, ct));
    }

    // As admin. The stalled PATCH goes out with the token its upload's POST got (its body cannot be sent twice).
    private static HttpClient NewClient(IRegistryServer registry)
        => RegistryAuthHandler.CreateClient(registry, timeout: TimeSpan.FromMinutes(2));

    /// <summary>Starts an upload, sends part of a PATCH, kills the registry mid-body and restarts it. Returns the upload URL.</summary>
    private static async Task<Uri> CrashDuringPatchAsync(
        IRegistryServer registry, HttpClient http, string repository, byte[] blob, CancellationToken ct)
    {
        using var start = await http.PostAsync($"/v2/{repository}/blobs/uploads/", null, ct);
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, await DescribeAsync(start, ct));
        Assert.True(start.Headers.Contains("Docker-Upload-UUID"), "POST answered without Docker-Upload-UUID");
        var location = ResolveLocation(start, new Uri(http.BaseAddress!, $"/v2/{repository}/blobs/uploads/"));

        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var content = new StalledContent(blob, SentBeforeCrash, stall.Token);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Content-Range", $"0-{blob.Length - 1}");
        using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = content };
        var sending = http.SendAsync(patch, ct);

        await content.PartSent.WaitAsync(TimeSpan.FromSeconds(60), ct);
        // Give the server time to take in (and store) what was sent before it dies.
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        Assert.False(sending.IsCompleted, "The PATCH finished before the registry was killed.");
        registry.Kill();

        // The client notices the dead connection only once its body writer stops waiting.
        await stall.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => sending.WaitAsync(TimeSpan.FromSeconds(30), ct));
        await registry.RestartAsync(ct);
        return location;
    }

    private static async Task FinishAsync(HttpClient http, Uri location, string digest, CancellationToken ct)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest))
        {
            Content = new ByteArrayContent([]),
        };
        using var finished = await http.SendAsync(put, ct);
        Assert.True(finished.StatusCode == HttpStatusCode.Created, await DescribeAsync(finished, ct));
        Assert.Equal(digest, finished.Headers.GetValues("Docker-Content-Digest").Single());
    }

    private static async Task AssertBlobUnknownAsync(HttpClient http, string repository, string digest, CancellationToken ct)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}");
        using var response = await http.SendAsync(head, ct);
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"HEAD of the unfinished blob: {(int)response.StatusCode}");
    }

    private static async Task AssertBlobContentAsync(
        HttpClient http, string repository, string digest, byte[] expected, CancellationToken ct)
    {
        using var response = await http.GetAsync($"/v2/{repository}/blobs/{digest}", ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await DescribeAsync(response, ct));
        var actual = await response.Content.ReadAsByteArrayAsync(ct);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.AsSpan().SequenceEqual(actual), "The stored blob differs from what was uploaded.");
    }

    /// <summary>The offset the next chunk starts at, from a <c>Range: 0-LAST</c> header.</summary>
    private static long CommittedOffset(HttpResponseMessage response)
    {
        // Range is a request header in HttpClient's model, so read it unvalidated.
        Assert.True(response.Headers.NonValidated.TryGetValues("Range", out var values), "No Range header in the upload status.");
        var range = values.Single();
        Assert.StartsWith("0-", range, StringComparison.Ordinal);
        var last = long.Parse(range[2..], System.Globalization.CultureInfo.InvariantCulture);
        // "0-0" is how an empty upload is reported (distribution never reports a single stored byte that way in practice).
        return last == 0 ? 0 : last + 1;
    }

    private static Uri ResolveLocation(HttpResponseMessage response, Uri current)
    {
        var location = response.Headers.Location;
        return location is null ? current : new Uri(current, location);
    }

    private static Uri WithDigest(Uri location, string digest)
    {
        var separator = string.IsNullOrEmpty(location.Query) ? "?" : "&";
        return new Uri(location + separator + "digest=" + Uri.EscapeDataString(digest));
    }

    private static async Task<string> DescribeAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        return $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} -> {(int)response.StatusCode} {response.StatusCode}\n"
            + $"{response.Headers}\n{body}";
    }
}
