using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Retention.RetentionHttp;

namespace Registry.Api.Tests.Retention;

/// <summary>Referrers (signatures, SBOMs) follow their subject: they go with it, and never on their own.</summary>
public sealed class RetentionReferrerTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private const string SignatureType = "application/vnd.example.signature";

    private readonly HttpClient _registry = registry.CreateRegistryClient();
    private readonly HttpClient _api = registry.CreateAdminApiClient();

    [Fact]
    public async Task AReferrerGoesWithItsSubjectAndStaysWhileItsSubjectStays()
    {
        var repository = NewRepository();
        var pushed = await registry.PushAgedTagsAsync(_registry, repository, ("old", TimeSpan.FromDays(5)), ("new", TimeSpan.FromDays(1)));
        var oldSignature = await PushSignatureAsync(repository, pushed["old"]);
        var newSignature = await PushSignatureAsync(repository, pushed["new"]);

        // The referrer is tagged too (as some signing tools do) and old: neither a tag rule nor the untagged rule takes it alone.
        await _registry.PushManifestAsync(repository, "sig-new", newSignature);
        await registry.SetTagTimeAsync(repository, "sig-new", DateTime.UtcNow - TimeSpan.FromDays(30));
        await registry.SetManifestTimesAsync(repository, newSignature.Digest, createdAt: DateTime.UtcNow - TimeSpan.FromDays(30));
        await registry.SetManifestTimesAsync(repository, oldSignature.Digest, createdAt: DateTime.UtcNow - TimeSpan.FromDays(30));
        var ns = Namespace(repository);
        var id = await _api.CreatePolicyAsync(ns, new { keepMostRecent = 1, untaggedOlderThan = "1d" });

        var report = await _api.RunPolicyAsync(ns, id, dryRun: false);

        Assert.Equal(["old"], DeletedTags(report));
        Assert.Equal(new[] { pushed["old"].Digest, oldSignature.Digest }.Order(StringComparer.Ordinal), DeletedManifests(report));
        var listedReferrer = report.GetProperty("deletedManifests").EnumerateArray().Single(m => m.GetProperty("digest").GetString() == oldSignature.Digest);
        Assert.Equal(pushed["old"].Digest, listedReferrer.GetProperty("subject").GetString());
        Assert.Equal(HttpStatusCode.NotFound, await _registry.ManifestStatusAsync(repository, pushed["old"].Digest));
        Assert.Equal(HttpStatusCode.NotFound, await _registry.ManifestStatusAsync(repository, oldSignature.Digest));
        Assert.Equal(HttpStatusCode.OK, await _registry.ManifestStatusAsync(repository, newSignature.Digest));
        Assert.Equal(["new", "sig-new"], await _registry.TagsAsync(repository));
    }

    private async Task<TestManifest> PushSignatureAsync(string repository, TestManifest subject)
    {
        var layer = TestBlob.Random(32);
        await _registry.PushBlobsAsync(repository, TestBlob.EmptyJson, layer);
        var signature = Manifests.Artifact(SignatureType, layer, subject);
        await _registry.PushManifestAsync(repository, signature.Digest, signature);
        return signature;
    }
}
