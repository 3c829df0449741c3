using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;

namespace Registry.Api.Tests.Retention;

/// <summary>Policies through /api/v1, images through /v2, and the times of tags and manifests set in the database.</summary>
internal static class RetentionHttp
{
    public static string PoliciesUrl(string ns) => $"/api/v1/namespaces/{ns}/retention-policies";

    /// <summary>A repository in a namespace no other test uses, so a namespace-wide policy sees only this test's repositories.</summary>
    public static string NewRepository() => RegistryAccounts.UniqueName("ret") + "/app";

    public static string Namespace(string repository) => repository[..repository.IndexOf('/', StringComparison.Ordinal)];

    public static async Task<long> CreatePolicyAsync(this HttpClient api, string ns, object policy)
    {
        using var response = await api.PostAsJsonAsync(PoliciesUrl(ns), policy);
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.Created, "creating a retention policy");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    public static async Task<JsonElement> RunPolicyAsync(this HttpClient api, string ns, long id, bool dryRun)
    {
        using var response = await api.PostAsJsonAsync($"{PoliciesUrl(ns)}/{id}/run", new { dryRun });
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.OK, "running a retention policy");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static List<string> DeletedTags(JsonElement report) =>
        report.GetProperty("deletedTags").EnumerateArray().Select(t => t.GetProperty("tag").GetString()!).Order(StringComparer.Ordinal).ToList();

    public static List<string> DeletedManifests(JsonElement report) =>
        report.GetProperty("deletedManifests").EnumerateArray().Select(t => t.GetProperty("digest").GetString()!).Order(StringComparer.Ordinal).ToList();

    public static async Task<List<string>> TagsAsync(this HttpClient registry, string repository)
    {
        using var response = await registry.GetAsync($"/v2/{repository}/tags/list");
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return json.GetProperty("tags").ValueKind == JsonValueKind.Array
            ? json.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal).ToList()
            : [];
    }

    public static async Task<HttpStatusCode> ManifestStatusAsync(this HttpClient registry, string repository, string reference)
    {
        using var response = await registry.SendAsync(HttpMethod.Head, $"/v2/{repository}/manifests/{reference}");
        return response.StatusCode;
    }

    /// <summary>Pushes one image per tag, and dates each tag the given age back.</summary>
    public static async Task<Dictionary<string, TestManifest>> PushAgedTagsAsync(
        this RegistryFactory factory, HttpClient registry, string repository, params (string Tag, TimeSpan Age)[] tags)
    {
        var pushed = new Dictionary<string, TestManifest>();
        foreach (var (tag, age) in tags)
        {
            pushed[tag] = await registry.PushImageAsync(repository, tag);
            await factory.SetTagTimeAsync(repository, tag, DateTime.UtcNow - age);
        }

        return pushed;
    }

    public static Task SetTagTimeAsync(this RegistryFactory factory, string repository, string tag, DateTime time) =>
        factory.WithDbAsync(db => db.Tags
            .Where(t => t.Name == tag && db.Repositories.Any(r => r.Id == t.RepositoryId && r.Name == repository))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.UpdatedAt, time)));

    public static Task SetManifestTimesAsync(this RegistryFactory factory, string repository, string digest, DateTime? createdAt = null, DateTime? lastPulledAt = null) =>
        factory.WithDbAsync(async db =>
        {
            var manifest = db.Manifests.Where(m => m.Digest == digest && db.Repositories.Any(r => r.Id == m.RepositoryId && r.Name == repository));
            if (createdAt is { } created)
            {
                await manifest.ExecuteUpdateAsync(s => s.SetProperty(m => m.CreatedAt, created));
            }

            if (lastPulledAt is not null)
            {
                await manifest.ExecuteUpdateAsync(s => s.SetProperty(m => m.LastPulledAt, lastPulledAt));
            }
        });

    public static async Task<T> WithDbAsync<T>(this RegistryFactory factory, Func<RegistryDbContext, Task<T>> action)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<RegistryDbContext>());
    }

    public static async Task WithDbAsync(this RegistryFactory factory, Func<RegistryDbContext, Task> action)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        await action(scope.ServiceProvider.GetRequiredService<RegistryDbContext>());
    }
}
