using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;
using Registry.Storage.Webhooks;
using Registry.Testing;

namespace Registry.Api.Tests.Webhooks;

/// <summary>The outbox, the claims and the retries on PostgreSQL, where several replicas share the deliveries.</summary>
public sealed class PostgresWebhookTests(PostgresWebhookTests.Registry fixture) : IClassFixture<PostgresWebhookTests.Registry>
{
    private RegistryFactory Factory => fixture.Factory;

    [Fact]
    public async Task APushIsDeliveredAndRetriedOnPostgres()
    {
        await using var receiver = new WebhookReceiver((n, _) => Task.FromResult(n == 1 ? 503 : 204));
        var alice = await Factory.NewUserAsync();
        using var api = Factory.CreateApiClient(alice.Name, alice.Password);
        var id = (await api.CreateWebhookAsync(alice.Name, new { url = receiver.Url, events = WebhookApi.Push })).GetProperty("id").GetString()!;
        using var client = Factory.CreateClientFor(alice.Name, alice.Password);
        var manifest = await client.PushImageAsync($"{alice.Name}/app", "v1");

        var first = await receiver.NextAsync();
        await receiver.NextAsync();
        var delivery = await api.WaitForDeliveryAsync(alice.Name, id, d => d.GetProperty("state").GetString() == "delivered");

        using var body = JsonDocument.Parse(first.Body);
        Assert.Equal(manifest.Digest, body.RootElement.GetProperty("digest").GetString());
        Assert.Equal([503, 204], delivery.GetProperty("attemptLog").EnumerateArray().Select(a => a.GetProperty("statusCode").GetInt32()));
    }

    [Fact]
    public async Task ConcurrentClaimsNeverTakeTheSameDelivery()
    {
        var alice = await Factory.NewUserAsync();
        using var api = Factory.CreateApiClient(alice.Name, alice.Password);
        var id = (await api.CreateWebhookAsync(alice.Name, new { url = "http://127.0.0.1:9/hook", events = WebhookApi.Push })).GetProperty("id").GetString()!;

        // Due only in a day, so that the registry's own dispatcher leaves them alone; the claims below look from then.
        var later = DateTime.UtcNow.AddDays(1);
        await using (var scope = Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            for (var i = 0; i < 40; i++)
            {
                var delivery = WebhookOutbox.NewDelivery(id, WebhookEvent.PingEvent, later, change: null);
                db.WebhookDeliveries.Add(delivery);
            }

            await db.SaveChangesAsync();
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            await using var scope = Factory.Services.CreateAsyncScope();
            var store = scope.ServiceProvider.GetRequiredService<WebhookDeliveryStore>();
            var claimed = await store.ClaimAsync(later.AddHours(1), later.AddHours(2), 40, CancellationToken.None);
            return claimed.Where(c => c.WebhookId == id).Select(c => c.Delivery.Id).ToList();
        }));

        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(40, all.Count);
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
                ["Registry:Webhooks:PollInterval"] = "00:00:00.050",
                ["Registry:Webhooks:RetryDelays"] = "00:00:00.200",
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
