using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Retention;
using static Registry.Api.Tests.Retention.RetentionHttp;

namespace Registry.Api.Tests.Retention;

/// <summary>
/// The scheduler runs a due, enabled policy once, however many replicas look at the same moment. The application's
/// own scheduler looks once a day here (and at start, when nothing is due), so only the test's schedulers run.
/// </summary>
public sealed class RetentionScheduleTests : IAsyncLifetime
{
    private readonly RegistryFactory _registry = RegistryFactory.WithSettings(new Dictionary<string, string?>
    {
        ["Registry:Retention:SchedulerInterval"] = "1.00:00:00",
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _registry.DisposeAsync().AsTask();

    [Fact]
    public async Task ADuePolicyRunsOnceEvenWhenTwoSchedulersLookAtOnce()
    {
        using var client = _registry.CreateRegistryClient();
        using var api = _registry.CreateAdminApiClient();
        var repository = NewRepository();
        var ns = Namespace(repository);
        await _registry.PushAgedTagsAsync(client, repository, ("a", TimeSpan.FromHours(3)), ("b", TimeSpan.FromHours(2)), ("c", TimeSpan.FromHours(1)));
        var id = await api.CreatePolicyAsync(ns, new { keepMostRecent = 1, schedule = "hourly" });
        var disabled = await api.CreatePolicyAsync(ns, new { tagPattern = "c", keepYoungerThan = "1m", schedule = "hourly", enabled = false });
        var notDueYet = await _registry.WithDbAsync(db => db.RetentionPolicies.Where(p => p.Id == id).Select(p => p.NextRunAt).SingleAsync());
        await _registry.WithDbAsync(db => db.RetentionPolicies.Where(p => p.Id == id || p.Id == disabled)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.NextRunAt, DateTime.UtcNow.AddMinutes(-1))));

        // Two schedulers of their own, as two replicas would have, against the one database.
        var first = ActivatorUtilities.CreateInstance<RetentionScheduler>(_registry.Services);
        var second = ActivatorUtilities.CreateInstance<RetentionScheduler>(_registry.Services);
        var ran = await Task.WhenAll(first.RunDueAsync(default), second.RunDueAsync(default));
        var again = await first.RunDueAsync(default);
        var runs = await api.GetFromJsonAsync<JsonElement>($"{PoliciesUrl(ns)}/{id}/runs");
        var policy = await api.GetFromJsonAsync<JsonElement>($"{PoliciesUrl(ns)}/{id}");

        Assert.True(notDueYet > DateTime.UtcNow.AddMinutes(50));
        Assert.Equal(1, ran.Sum());
        Assert.Equal(0, again);
        Assert.Equal(["c"], await client.TagsAsync(repository));
        var run = Assert.Single(runs.EnumerateArray());
        Assert.Equal(["a", "b"], DeletedTags(run));
        Assert.True(policy.GetProperty("nextRunAt").GetDateTime() > DateTime.UtcNow.AddMinutes(50));
        Assert.Equal(JsonValueKind.String, policy.GetProperty("lastRunAt").ValueKind);
    }
}
