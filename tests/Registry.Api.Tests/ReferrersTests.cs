using System.Net;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using Registry.Core;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>The OCI-Subject header on push and GET /v2/NAME/referrers/DIGEST.</summary>
public sealed class ReferrersTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private const string SignatureType = "application/vnd.example.signature";
    private const string SbomType = "application/vnd.example.sbom";
    private const string AnnotationKey = "org.example.note";

    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task PutWithSubjectAnswersOciSubjectHeader()
    {
        var (repository, subject) = await SubjectAsync();
        var artifact = await ArtifactAsync(repository, SignatureType, subject);

        using var response = await _client.PutManifestAsync(repository, artifact.Digest, artifact);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(subject.Digest, Header(response, "OCI-Subject"));
    }

    [Fact]
    public async Task PutWithoutSubjectHasNoOciSubjectHeader()
    {
        var repository = Names.Unique("refs");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);

        using var response = await _client.PutManifestAsync(repository, "v1", Manifests.OciImage(config));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Null(Header(response, "OCI-Subject"));
    }

    [Fact]
    public async Task ReferrersListsEachArtifactWithTypeSizeAndAnnotations()
    {
        var (repository, subject) = await SubjectAsync();
        var signature = await PushArtifactAsync(repository, SignatureType, subject, "signed");
        var sbom = await PushArtifactAsync(repository, SbomType, subject, "sbom");

        using var response = await ReferrersAsync(repository, subject.Digest);

        using var index = await ReadJsonAsync(response);
        Assert.Equal(MediaTypes.OciIndex, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(2, index.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(MediaTypes.OciIndex, index.RootElement.GetProperty("mediaType").GetString());
        var entries = index.RootElement.GetProperty("manifests").EnumerateArray().ToDictionary(e => e.GetProperty("digest").GetString()!);
        Assert.Equal(2, entries.Count);
        AssertEntry(entries[signature.Digest], signature, SignatureType, "signed");
        AssertEntry(entries[sbom.Digest], sbom, SbomType, "sbom");
    }

    [Fact]
    public async Task ArtifactTypeFallsBackToConfigMediaType()
    {
        var (repository, subject) = await SubjectAsync();
        var config = TestBlob.Text("config-typed artifact");
        await _client.PushBlobsAsync(repository, config, TestBlob.EmptyJson);
        var artifact = Manifests.ConfigTypedArtifact(SbomType, config, subject);
        await _client.PushManifestAsync(repository, artifact.Digest, artifact);

        using var response = await ReferrersAsync(repository, subject.Digest);

        using var index = await ReadJsonAsync(response);
        var entry = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(SbomType, entry.GetProperty("artifactType").GetString());
    }

    [Fact]
    public async Task IndexWithSubjectIsListedWithItsArtifactType()
    {
        var (repository, subject) = await SubjectAsync();
        var signature = await PushArtifactAsync(repository, SignatureType, subject, "signed");
        var extra = new System.Text.Json.Nodes.JsonObject { ["artifactType"] = "application/vnd.example.bundle" };
        Manifests.AddSubjectAndAnnotations(extra, subject, new Dictionary<string, string> { [AnnotationKey] = "bundle" });
        var index = Manifests.OciIndex([signature.Descriptor()], extra);

        using var put = await _client.PutManifestAsync(repository, index.Digest, index);
        using var response = await ReferrersAsync(repository, subject.Digest);

        Assert.Equal(subject.Digest, Header(put, "OCI-Subject"));
        using var json = await ReadJsonAsync(response);
        var entry = json.RootElement.GetProperty("manifests").EnumerateArray().Single(e => e.GetProperty("digest").GetString() == index.Digest);
        AssertEntry(entry, index, "application/vnd.example.bundle", "bundle");
    }

    [Fact]
    public async Task ReferrersOfEveryStyleAreEachListedOnceWithTheirOwnAnnotations()
    {
        var (repository, subject) = await SubjectAsync();
        var pushed = new Dictionary<string, (TestManifest Manifest, string ArtifactType, string Note)>();
        foreach (var (type, style) in new[] { (SignatureType, "config"), (SignatureType, "layer"), (SbomType, "config"), (SbomType, "layer") })
        {
            var manifest = style == "config"
                ? await PushConfigTypedArtifactAsync(repository, type, subject, $"{type} {style}")
                : await PushArtifactAsync(repository, type, subject, $"{type} {style}");
            pushed[manifest.Digest] = (manifest, type, $"{type} {style}");
        }

        var extra = new System.Text.Json.Nodes.JsonObject { ["artifactType"] = "application/vnd.example.bundle" };
        Manifests.AddSubjectAndAnnotations(extra, subject, new Dictionary<string, string> { [AnnotationKey] = "bundle" });
        var index = Manifests.OciIndex(pushed.Values.Take(2).Select(p => p.Manifest.Descriptor()), extra);
        await _client.PushManifestAsync(repository, index.Digest, index);
        pushed[index.Digest] = (index, "application/vnd.example.bundle", "bundle");

        using var response = await ReferrersAsync(repository, subject.Digest);

        using var json = await ReadJsonAsync(response);
        var entries = json.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(5, entries.Count);
        Assert.Equal(5, entries.Select(e => e.GetProperty("digest").GetString()).Distinct().Count());
        foreach (var entry in entries)
        {
            var (manifest, artifactType, note) = pushed[entry.GetProperty("digest").GetString()!];
            AssertEntry(entry, manifest, artifactType, note);
        }
    }

    [Fact]
    public async Task ArtifactTypeFilterMatchesArtifactTypeAndConfigTypedArtifacts()
    {
        var (repository, subject) = await SubjectAsync();
        var byConfig = await PushConfigTypedArtifactAsync(repository, SignatureType, subject, "config");
        var byField = await PushArtifactAsync(repository, SignatureType, subject, "field");
        await PushArtifactAsync(repository, SbomType, subject, "other");

        using var response = await ReferrersAsync(repository, $"{subject.Digest}?artifactType={Uri.EscapeDataString(SignatureType)}");

        Assert.Equal("artifactType", Header(response, "OCI-Filters-Applied"));
        using var json = await ReadJsonAsync(response);
        var digests = json.RootElement.GetProperty("manifests").EnumerateArray().Select(e => e.GetProperty("digest").GetString()).Order();
        Assert.Equal(new[] { byConfig.Digest, byField.Digest }.Order(), digests);
    }

    [Fact]
    public async Task ArtifactTypeFilterReturnsOnlyMatchesAndSaysSo()
    {
        var (repository, subject) = await SubjectAsync();
        var signature = await PushArtifactAsync(repository, SignatureType, subject, "signed");
        await PushArtifactAsync(repository, SbomType, subject, "sbom");

        using var response = await ReferrersAsync(repository, $"{subject.Digest}?artifactType={Uri.EscapeDataString(SignatureType)}");

        Assert.Equal("artifactType", Header(response, "OCI-Filters-Applied"));
        using var index = await ReadJsonAsync(response);
        var entry = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(signature.Digest, entry.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task UnfilteredListHasNoFiltersAppliedHeader()
    {
        var (repository, subject) = await SubjectAsync();
        await PushArtifactAsync(repository, SignatureType, subject, "signed");

        using var response = await ReferrersAsync(repository, subject.Digest);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(Header(response, "OCI-Filters-Applied"));
    }

    [Fact]
    public async Task UnknownSubjectGivesEmptyIndex()
    {
        var (repository, _) = await SubjectAsync();

        using var response = await ReferrersAsync(repository, "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MediaTypes.OciIndex, response.Content.Headers.ContentType?.ToString());
        using var index = await ReadJsonAsync(response);
        Assert.Equal(0, index.RootElement.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task UnknownRepositoryGivesEmptyIndex()
    {
        using var response = await ReferrersAsync(Names.Unique("refs"), "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");

        using var index = await ReadJsonAsync(response);
        Assert.Equal(0, index.RootElement.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task ReferrerMayBePushedBeforeItsSubject()
    {
        var repository = Names.Unique("refs");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var subject = Manifests.OciImage(config);
        var artifact = await ArtifactAsync(repository, SignatureType, subject);

        using var put = await _client.PutManifestAsync(repository, artifact.Digest, artifact);
        using var response = await ReferrersAsync(repository, subject.Digest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(subject.Digest, Header(put, "OCI-Subject"));
        using var index = await ReadJsonAsync(response);
        Assert.Equal(artifact.Digest, Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray()).GetProperty("digest").GetString());
    }

    [Fact]
    public async Task ReferrersOfAnotherRepositoryAreNotListed()
    {
        var (repository, subject) = await SubjectAsync();
        await PushArtifactAsync(repository, SignatureType, subject, "signed");

        using var response = await ReferrersAsync(Names.Unique("refs"), subject.Digest);

        using var index = await ReadJsonAsync(response);
        Assert.Equal(0, index.RootElement.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task DeletedReferrerIsNoLongerListed()
    {
        var (repository, subject) = await SubjectAsync();
        var artifact = await PushArtifactAsync(repository, SignatureType, subject, "signed");

        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{artifact.Digest}");
        using var response = await ReferrersAsync(repository, subject.Digest);

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var index = await ReadJsonAsync(response);
        Assert.Equal(0, index.RootElement.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task MalformedSubjectDigestIs400DigestInvalid()
    {
        using var response = await ReferrersAsync(Names.Unique("refs"), "sha256:nothex");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    private static void AssertEntry(JsonElement entry, TestManifest manifest, string artifactType, string note)
    {
        Assert.Equal(manifest.MediaType, entry.GetProperty("mediaType").GetString());
        Assert.Equal(manifest.Size, entry.GetProperty("size").GetInt64());
        Assert.Equal(artifactType, entry.GetProperty("artifactType").GetString());
        var annotation = Assert.Single(entry.GetProperty("annotations").EnumerateObject());
        Assert.Equal(AnnotationKey, annotation.Name);
        Assert.Equal(note, annotation.Value.GetString());
    }

    private Task<HttpResponseMessage> ReferrersAsync(string repository, string digestAndQuery) =>
        _client.GetAsync($"/v2/{repository}/referrers/{digestAndQuery}");

    private async Task<(string Repository, TestManifest Subject)> SubjectAsync()
    {
        var repository = Names.Unique("refs");
        return (repository, await _client.PushImageAsync(repository, "v1"));
    }

    /// <summary>An artifact whose blobs are pushed, not yet its manifest.</summary>
    private async Task<TestManifest> ArtifactAsync(string repository, string artifactType, TestManifest subject, string? note = null)
    {
        var payload = TestBlob.Random(20);
        await _client.PushBlobsAsync(repository, TestBlob.EmptyJson, payload);
        return Manifests.Artifact(artifactType, payload, subject, note is null ? null : new Dictionary<string, string> { [AnnotationKey] = note });
    }

    private async Task<TestManifest> PushConfigTypedArtifactAsync(string repository, string artifactType, TestManifest subject, string note)
    {
        var config = TestBlob.Random(20);
        await _client.PushBlobsAsync(repository, config, TestBlob.EmptyJson);
        var artifact = Manifests.ConfigTypedArtifact(artifactType, config, subject, new Dictionary<string, string> { [AnnotationKey] = note });
        using var response = await _client.PutManifestAsync(repository, artifact.Digest, artifact);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(subject.Digest, Header(response, "OCI-Subject"));
        return artifact;
    }

    private async Task<TestManifest> PushArtifactAsync(string repository, string artifactType, TestManifest subject, string note)
    {
        var artifact = await ArtifactAsync(repository, artifactType, subject, note);
        await _client.PushManifestAsync(repository, artifact.Digest, artifact);
        return artifact;
    }
}
