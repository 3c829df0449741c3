using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Retention;
using Registry.Testing;
using static Registry.Api.Tests.Retention.RetentionHttp;

namespace Registry.Api.Tests.Retention;

/// <summary>Retention's queries, claims and pull-time writes on PostgreSQL, the production metadata store.</summary>
public sealed class PostgresRetentionTests(PostgresRetentionTests.Registry fixture) : IClassFixture<PostgresRetentionTests.Registry>
{
    private RegistryFactory Factory => fixture.Factory;

    [Fact]
    public async Task ARunKeepsWhatEveryRuleAllowsAndTakesUntaggedManifestsAndReferrersWithThem()
    {
        using var client = Factory.CreateRegistryClient();
        using var api = Factory.CreateAdminApiClient();
        var repository = NewRepository();
        var ns = Namespace(repository);
        var pushed = await Factory.PushAgedTagsAsync(client, repository,
            ("h10", TimeSpan.FromHours(10)), ("h50", TimeSpan.FromHours(50)), ("h150", TimeSpan.FromHours(150)), ("h200", TimeSpan.FromHours(200)));
        var layer = TestBlob.Random(16);
        await client.PushBlobsAsync(repository, TestBlob.EmptyJson, layer);
        var signature = Manifests.Artifact("application/vnd.example.signature", layer, pushed["h200"]);
        await client.PushManifestAsync(repository, signature.Digest, signature);
        var config = TestBlob.Config();
        await client.PushBlobAsync(repository, config);
        var untagged = Manifests.OciImage(config);
        await client.PushManifestAsync(repository, untagged.Digest, untagged);
        await Factory.SetManifestTimesAsync(repository, untagged.Digest, createdAt: DateTime.UtcNow - TimeSpan.FromDays(9));
        using (var pull = await client.GetAsync($"/v2/{repository}/manifests/h10"))
        {
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        }

        await Factory.Services.GetRequiredService<PullRecorder>().FlushAsync(default);
        var pulledAt = await Factory.WithDbAsync(db => db.Manifests.Where(m => m.Digest == pushed["h10"].Digest).Select(m => m.LastPulledAt).SingleAsync());
        var id = await api.CreatePolicyAsync(ns, new { keepMostRecent = 3, keepYoungerThan = "100h", untaggedOlderThan = "7d" });

        var dry = await api.RunPolicyAsync(ns, id, dryRun: true);
        var real = await api.RunPolicyAsync(ns, id, dryRun: false);

        Assert.NotNull(pulledAt);
        Assert.Equal(["h150", "h200"], DeletedTags(real));
        Assert.Equal(DeletedTags(dry), DeletedTags(real));
        Assert.Equal(DeletedManifests(dry), DeletedManifests(real));
        Assert.Equal(
            new[] { pushed["h150"].Digest, pushed["h200"].Digest, signature.Digest, untagged.Digest }.Order(StringComparer.Ordinal),
            DeletedManifests(real));
        Assert.Equal(["h10", "h50"], await client.TagsAsync(repository));
        Assert.Equal(HttpStatusCode.NotFound, await client.ManifestStatusAsync(repository, signature.Digest));
    }

    [Fact]
    public async Task TwoSchedulersRunADuePolicyOnce()
    {
        using var client = Factory.CreateRegistryClient();
        using var api = Factory.CreateAdminApiClient();
        var repository = NewRepository();
        var ns = Namespace(repository);
        await Factory.PushAgedTagsAsync(client, repository, ("a", TimeSpan.FromHours(2)), ("b", TimeSpan.FromHours(1)));
        var id = await api.CreatePolicyAsync(ns, new { keepMostRecent = 1, schedule = "weekly" });
        await Factory.WithDbAsync(db => db.RetentionPolicies.Where(p => p.Id == id)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.NextRunAt, DateTime.UtcNow.AddMinutes(-1))));

        var first = ActivatorUtilities.CreateInstance<RetentionScheduler>(Factory.Services);
        var second = ActivatorUtilities.CreateInstance<RetentionScheduler>(Factory.Services);
        var ran = await Task.WhenAll(first.RunDueAsync(default), second.RunDueAsync(default));
        var runs = await api.GetFromJsonAsync<JsonElement>($"{PoliciesUrl(ns)}/{id}/runs");

        Assert.Equal(1, ran.Sum());
        Assert.Single(runs.EnumerateArray());
        Assert.Equal(["b"], await client.TagsAsync(repository));
    }

    public sealed class Registry : IAsyncLifetime
    {
        private RegistryFactory? _factory;

        public RegistryFactory Factory => _factory ?? throw new InvalidOperationException("not started");

        public async Task InitializeAsync()
        {
            var server = await PostgresServer.GetAsync();
            _factory = RegistryFactory.WithSettings(new Dictionary<string, string?>
            {
                ["Registry:Database:Provider"] = "Postgres",
                ["Registry:Database:ConnectionString"] = await server.CreateDatabaseAsync(),
                ["Registry:Retention:PullFlushInterval"] = "01:00:00",
                ["Registry:Retention:SchedulerInterval"] = "1.00:00:00",
            });
        }

        public async Task DisposeAsync()
        {
            if (_factory is not null)
            {
                await _factory.DisposeAsync();
            }
        }
    }
}
