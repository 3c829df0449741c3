using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Registry.Api.Identity;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;

namespace Registry.Api.Tests.Auth;

/// <summary>Audit entries older than Registry:Audit:Retention are removed hourly; newer ones stay.</summary>
public sealed class AuditRetentionTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly RegistryFactory _registry;

    public AuditRetentionTests() =>
        _registry = RegistryFactory
            .WithSettings(new Dictionary<string, string?> { ["Registry:Audit:Retention"] = "30.00:00:00" })
            .WithServices(services => services.AddSingleton<TimeProvider>(_clock));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _registry.DisposeAsync().AsTask();

    [Fact]
    public async Task EntriesPastTheRetentionAreRemovedByTheHourlyRunAndNewerOnesStay()
    {
        var audit = _registry.Services.GetRequiredService<AuditLog>();
        await audit.WriteAsync("test.old", "alice", "old");
        _clock.Advance(TimeSpan.FromDays(20));
        await audit.WriteAsync("test.recent", "alice", "recent");

        // Eleven days on, the first entry is past thirty days; the hourly timer fires as the clock passes the hour.
        _clock.Advance(TimeSpan.FromDays(11));
        var remaining = await WaitForAsync(actions => !actions.Contains("test.old"));

        Assert.Contains("test.recent", remaining);
        Assert.DoesNotContain("test.old", remaining);
    }

    [Fact]
    public async Task ARunChangesNothingWhenNothingIsOldEnough()
    {
        var audit = _registry.Services.GetRequiredService<AuditLog>();
        await audit.WriteAsync("test.fresh", "bob", "fresh");
        _clock.Advance(TimeSpan.FromDays(29));

        var removed = await _registry.Services.GetRequiredService<AuditRetention>().PruneOnceAsync(default);

        Assert.Equal(0, removed);
        Assert.Contains("test.fresh", await ActionsAsync());
    }

    private async Task<List<string>> WaitForAsync(Func<List<string>, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var actions = await ActionsAsync();
            if (condition(actions) || DateTime.UtcNow > deadline)
            {
                return actions;
            }

            await Task.Delay(50);
        }
    }

    private async Task<List<string>> ActionsAsync()
    {
        await using var scope = _registry.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<RegistryDbContext>().AuditEvents.Select(e => e.Action).ToListAsync();
    }
}
