using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.UI.Tests;

/// <summary>A multi-platform image (copied in with skopeo) and an artifact that refers to it.</summary>
[Collection(UiCollection.Name)]
public sealed class IndexTests(UiFixture fixture)
{
    private const string Repository = "admin/ui-multi";
    private const string SbomType = "application/vnd.example.sbom.v1+json";

    [Fact]
    public async Task IndexShowsOneEntryPerPlatformAndItsReferrers()
    {
        var index = TestImages.CreateMultiPlatform();
        var layout = fixture.NewDirectory("layout");
        await index.WriteOciLayoutAsync(layout, "v1");
        var authFile = Path.Combine(fixture.NewDirectory("skopeo"), "auth.json");
        fixture.Registry.Admin.WriteAuthFile(authFile, fixture.Registry.HostPort);
        await SkopeoCli.WithAuthFile(authFile).CopyAsync($"oci:{layout}:v1", $"docker://{fixture.Registry.HostPort}/{Repository}:v1", ["--all", "--preserve-digests"]);
        await PushReferrerAsync(index.Index.Digest, index.Index.Size);

        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/r/" + Repository);
        await Assertions.Expect(page.Locator("#tag-table tbody tr", new() { HasText = "v1" })).ToContainTextAsync("linux/amd64, linux/arm64");

        await page.GotoAsync($"/m/{Repository}:v1");
        var rows = page.Locator("#platforms tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        await Assertions.Expect(rows.Nth(0)).ToContainTextAsync("linux/amd64");
        await Assertions.Expect(rows.Nth(1)).ToContainTextAsync("linux/arm64");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync(SbomType);
        await UiFixture.ScreenshotAsync(page, "index");

        // A platform's own page is an image page: its layers and history.
        await rows.Nth(1).GetByRole(AriaRole.Link).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/m/{Repository}@sha256:[0-9a-f]{{64}}$"));
        await Assertions.Expect(page.Locator("#layers tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("linux/arm64");
    }

    // An OCI artifact whose subject is the index, as a signature or SBOM tool pushes one.
    private async Task PushReferrerAsync(string subjectDigest, long subjectSize)
    {
        using var http = RegistryAuthHandler.CreateClient(fixture.Registry);
        var empty = "{}"u8.ToArray();
        var emptyDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(empty));
        using (var blob = new ByteArrayContent(empty))
        {
            blob.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var upload = await http.PostAsync($"/v2/{Repository}/blobs/uploads/?digest={emptyDigest}", blob);
            upload.EnsureSuccessStatusCode();
        }

        var manifest = $$$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"{{{SbomType}}}",
             "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{{{emptyDigest}}}","size":2},
             "layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{{{emptyDigest}}}","size":2}],
             "subject":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{{{subjectDigest}}}","size":{{{subjectSize}}}}}
            """;
        var bytes = Encoding.UTF8.GetBytes(manifest);
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
        using var put = await http.PutAsync($"/v2/{Repository}/manifests/sha256:{Convert.ToHexStringLower(SHA256.HashData(bytes))}", content);
        put.EnsureSuccessStatusCode();
    }
}
