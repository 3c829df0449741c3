using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Retention;
using static Registry.Api.Tests.Retention.RetentionHttp;

namespace Registry.Api.Tests.Retention;

/// <summary>
/// Pull times: a manifest GET notes the time in memory, a flush writes it. The background flush is set an hour apart
/// here, so the tests' own flushes are the only writes.
/// </summary>
public sealed class PullRecorderTests : IAsyncLifetime
{
    private readonly RegistryFactory _registry = RegistryFactory.WithSettings(new Dictionary<string, string?>
    {
        ["Registry:Retention:PullFlushInterval"] = "01:00:00",
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _registry.DisposeAsync().AsTask();

    private PullRecorder Recorder => _registry.Services.GetRequiredService<PullRecorder>();

    [Fact]
    public async Task OnlyAGetIsRecordedAndOnlyAfterAFlush()
    {
        using var client = _registry.CreateRegistryClient();
        var repository = NewRepository();
        var pushed = await _registry.PushAgedTagsAsync(client, repository, ("v1", TimeSpan.Zero));

        Assert.Equal(HttpStatusCode.OK, await client.ManifestStatusAsync(repository, "v1")); // HEAD
        var afterHead = await Recorder.FlushAsync(default);
        using (var get = await client.GetAsync($"/v2/{repository}/manifests/v1"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        }

        var beforeFlush = await LastPulledAsync(pushed["v1"].Digest);
        var afterGet = await Recorder.FlushAsync(default);
        var afterFlush = await LastPulledAsync(pushed["v1"].Digest);

        Assert.Equal(0, afterHead);
        Assert.Null(beforeFlush);
        Assert.Equal(1, afterGet);
        Assert.Equal(DateTime.UtcNow, afterFlush!.Value, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task ARecordedPullNeverMovesTheTimeBackAndRepeatedPullsAreRecordedOnce()
    {
        using var client = _registry.CreateRegistryClient();
        var repository = NewRepository();
        var pushed = await _registry.PushAgedTagsAsync(client, repository, ("v1", TimeSpan.Zero));
        var future = DateTime.UtcNow.AddDays(1);
        await _registry.SetManifestTimesAsync(repository, pushed["v1"].Digest, lastPulledAt: future);

        for (var i = 0; i < 3; i++)
        {
            using var get = await client.GetAsync($"/v2/{repository}/manifests/v1");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        }

        var recorded = await Recorder.FlushAsync(default);

        Assert.Equal(1, recorded);
        Assert.Equal(future, (await LastPulledAsync(pushed["v1"].Digest))!.Value, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task KeepPulledWithinKeepsTagsPulledRecentlyAndCountsNeverPulledAsPulledAtPush()
    {
        using var client = _registry.CreateRegistryClient();
        using var api = _registry.CreateAdminApiClient();
        var repository = NewRepository();
        var pushed = await _registry.PushAgedTagsAsync(client, repository,
            ("pulled", TimeSpan.FromDays(60)), ("pulled-long-ago", TimeSpan.FromDays(60)), ("never-old", TimeSpan.FromDays(60)), ("never-new", TimeSpan.FromDays(2)));
        await _registry.SetManifestTimesAsync(repository, pushed["pulled-long-ago"].Digest, lastPulledAt: DateTime.UtcNow - TimeSpan.FromDays(40));
        using (var pull = await client.GetAsync($"/v2/{repository}/manifests/pulled"))
        {
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        }

        await Recorder.FlushAsync(default);
        var id = await api.CreatePolicyAsync(Namespace(repository), new { keepPulledWithin = "30d" });

        var report = await api.RunPolicyAsync(Namespace(repository), id, dryRun: false);

        Assert.Equal(["never-old", "pulled-long-ago"], DeletedTags(report));
        Assert.Equal(["never-new", "pulled"], await client.TagsAsync(repository));
    }

    private Task<DateTime?> LastPulledAsync(string digest) =>
        _registry.WithDbAsync(db => Task.FromResult(db.Manifests.Where(m => m.Digest == digest).Select(m => m.LastPulledAt).Single()));
}
