using System.Net;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using Registry.Testing;

namespace Registry.Api.Tests.Gc;

/// <summary>
/// A collection that dies between its steps (the process ends at once, as with kill -9 or a power loss, through
/// <c>REGISTRY_GC_CRASH_AT</c>) leaves nothing a client can see, and the next run removes what it left. Runs the real
/// server and <c>Registry.Api admin gc</c> as separate processes over one data directory.
/// </summary>
public sealed class GcCrashTests
{
    private static readonly Dictionary<string, string?> Collection = new()
    {
        ["Registry__Gc__ReviewDelay"] = "00:00:00",
        ["Registry__Gc__UploadGrace"] = "00:00:00",
        ["Registry__Gc__Background"] = "false",
        ["Registry__Gc__ClaimDuration"] = "00:00:10",
    };

    [Theory]
    [InlineData("after-unlink")]
    [InlineData("after-bytes")]
    public async Task ACollectionKilledBetweenRowsAndBytesLeavesNothingVisibleAndTheNextRunFinishesIt(string point)
    {
        await using var server = await RegistryProcess.StartAsync(environment: Collection);
        using var v2 = RegistryAuthHandler.CreateClient(server, server.Admin);
        var doomed = await v2.PushImageAsync("crash/doomed", "v1");
        var kept = await v2.PushImageAsync("crash/kept", "v1");
        using (var api = new HttpClient { BaseAddress = server.BaseAddress })
        {
            api.DefaultRequestHeaders.Authorization = TokenAuthHandler.Basic(server.Admin.Username, server.Admin.Password);
            using var deleted = await api.DeleteAsync("/api/v1/repositories/crash/doomed");
            Assert.True(deleted.IsSuccessStatusCode, $"repository delete answered {(int)deleted.StatusCode}");
        }

        var before = StoredDigests(server.DataDirectory);
        var crashed = await AdminGcAsync(server, point);

        Assert.NotEqual(0, crashed.ExitCode);
        Assert.Contains(point, crashed.CombinedOutput, StringComparison.Ordinal);
        var between = StoredDigests(server.DataDirectory);
        // Killed after its first transaction (links gone, bytes kept) or after the first file went (its record kept).
        Assert.Equal(point == "after-bytes" ? before.Count - 1 : before.Count, between.Count);
        foreach (var digest in Digests(doomed))
        {
            Assert.Equal(HttpStatusCode.NotFound, await v2.StatusAsync(HttpMethod.Head, $"/v2/crash/doomed/blobs/{digest}"));
        }

        Assert.DoesNotContain("crash/doomed", await CatalogAsync(v2));
        await AssertPullsAsync(v2, "crash/kept", kept);

        // The dead run's claim on its reviews lapses (another replica cannot tell a dead process from a slow one).
        await Task.Delay(TimeSpan.FromSeconds(11));
        var dry = await AdminGcAsync(server, crashAt: null, "--dry-run");
        var real = await AdminGcAsync(server, crashAt: null);

        Assert.Equal(0, dry.ExitCode);
        Assert.Equal(0, real.ExitCode);
        var dryReport = JsonDocument.Parse(dry.StandardOutput).RootElement;
        var realReport = JsonDocument.Parse(real.StandardOutput).RootElement;
        Assert.Equal(2, realReport.GetProperty("blobs").GetInt32());
        Assert.Equal(dryReport.GetProperty("blobs").GetInt32(), realReport.GetProperty("blobs").GetInt32());
        Assert.Equal(dryReport.GetProperty("bytes").GetInt64(), realReport.GetProperty("bytes").GetInt64());
        Assert.Equal(Digests(kept).Order(StringComparer.Ordinal), StoredDigests(server.DataDirectory).Order(StringComparer.Ordinal));
        await AssertPullsAsync(v2, "crash/kept", kept);
    }

    private static IEnumerable<string> Digests(TestManifest manifest)
    {
        var root = JsonDocument.Parse(manifest.Content).RootElement;
        return root.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!)
            .Append(root.GetProperty("config").GetProperty("digest").GetString()!);
    }

    private static async Task<ProcessResult> AdminGcAsync(RegistryProcess server, string? crashAt, params string[] options)
    {
        var assembly = RegistryProcess.FindApiAssembly();
        var environment = new Dictionary<string, string?>(Collection)
        {
            ["REGISTRY_DATA_DIR"] = server.DataDirectory,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["DOTNET_DbgEnableMiniDump"] = "0",
        };
        if (crashAt is not null)
        {
            environment["REGISTRY_GC_CRASH_AT"] = crashAt;
        }

        using var scratch = new TemporaryDirectory("gc-cli");
        return await ProcessRunner.RunAsync("dotnet", [assembly, "admin", "gc", .. options], TimeSpan.FromSeconds(60), environment, workingDirectory: scratch.Path);
    }

    private static async Task<string[]> CatalogAsync(HttpClient v2)
    {
        using var response = await v2.GetAsync("/v2/_catalog");
        using var json = await RegistryHttp.ReadJsonAsync(response);
        return [.. json.RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()!)];
    }

    private static async Task AssertPullsAsync(HttpClient v2, string repository, TestManifest manifest)
    {
        using var response = await v2.GetAsync($"/v2/{repository}/manifests/v1");
        Assert.Equal(manifest.Content, await response.Content.ReadAsByteArrayAsync());
        foreach (var digest in Digests(manifest))
        {
            Assert.Equal(HttpStatusCode.OK, await v2.StatusAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{digest}"));
        }
    }

    private static List<string> StoredDigests(string dataDirectory) =>
        [.. Directory.EnumerateFiles(Path.Combine(dataDirectory, "blobs"), "*", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(f)))}:{Path.GetFileName(f)}")];
}
