using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Storage.Blobs;
using Registry.Storage.Observability;
using Registry.Storage.Blobs.S3;

namespace Registry.Storage.Tests.S3;

/// <summary>Choosing the S3 store, refusing bad settings at start without showing the secret, and request signing.</summary>
public sealed class S3SettingsTests : IDisposable
{
    private const string Secret = "do-not-show-this-secret-0123456789";
    private readonly TemporaryDataDirectory _data = new();

    private static Dictionary<string, string?> Valid() => new()
    {
        ["Registry:Storage:Provider"] = "S3",
        ["Registry:Storage:S3:Endpoint"] = "http://127.0.0.1:9",
        ["Registry:Storage:S3:Bucket"] = "registry-blobs",
        ["Registry:Storage:S3:AccessKey"] = "access",
        ["Registry:Storage:S3:SecretKey"] = Secret,
    };

    private ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration)
            .AddRegistryStorage(configuration, _data.Path).BuildServiceProvider();
    }

    public void Dispose() => _data.Dispose();

    [Fact]
    public void The_filesystem_store_is_the_default()
    {
        using var services = Build([]);

        Assert.IsType<FileSystemBlobStore>(services.GetRequiredService<IBlobStoreProbe>());
    }

    [Fact]
    public void Provider_S3_registers_the_S3_store_for_every_role()
    {
        using var services = Build(Valid());
        services.GetRequiredService<IStartupValidator>().Validate();

        Assert.IsType<S3BlobStore>(services.GetRequiredService<IBlobStoreProbe>());
        var store = Assert.IsType<MeteredBlobStore>(services.GetRequiredService<IBlobStore>());
        Assert.Same(store, services.GetRequiredService<IBlobReader>());
        Assert.Same(store, services.GetRequiredService<IBlobIngester>());
        Assert.Same(store, services.GetRequiredService<IBlobDeleter>());
    }

    [Theory]
    [InlineData("Bucket", null, "Bucket")]
    [InlineData("Bucket", "Not_A_Bucket", "Bucket")]
    [InlineData("Endpoint", null, "Endpoint")]
    [InlineData("Endpoint", "s3.example.com", "Endpoint")]
    [InlineData("Endpoint", "ftp://s3.example.com", "Endpoint")]
    [InlineData("Endpoint", "https://s3.example.com/prefix", "Endpoint")]
    [InlineData("PublicEndpoint", "cdn", "PublicEndpoint")]
    [InlineData("AccessKey", null, "AccessKey")]
    [InlineData("SecretKey", null, "SecretKey")]
    [InlineData("PartSize", "1048576", "PartSize")]
    [InlineData("RedirectExpiry", "30.00:00:00", "RedirectExpiry")]
    [InlineData("Region", "EU WEST", "Region")]
    public void A_missing_or_invalid_setting_stops_the_start_and_is_named(string key, string? value, string member)
    {
        var settings = Valid();
        settings[$"Registry:Storage:S3:{key}"] = value;
        using var services = Build(settings);

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(typeof(S3BlobStoreOptions), e.OptionsType);
        Assert.Contains($"'{member}'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_provider_is_refused_by_name()
    {
        var settings = Valid();
        settings["Registry:Storage:Provider"] = "Tape";

        var e = Assert.Throws<InvalidOperationException>(() => Build(settings));

        Assert.Contains("Registry:Storage:Provider", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_endpoint_fails_the_bucket_check_without_showing_the_secret()
    {
        var settings = Valid();
        settings["Registry:Storage:S3:MaxAttempts"] = "2";
        using var services = Build(settings);

        var e = await Assert.ThrowsAsync<S3Exception>(() => services.GetRequiredService<S3BlobStore>().EnsureBucketAsync(default));

        Assert.Contains("registry-blobs", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Requests_are_signed_as_AWS_documents_it()
    {
        // The GetObject example of AWS's SigV4 documentation (a signed Range header and an empty body's hash).
        var signer = new S3Signer("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1");
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://examplebucket.s3.amazonaws.com/test.txt");
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 9);

        signer.Sign(request, new DateTimeOffset(2013, 5, 24, 0, 0, 0, TimeSpan.Zero), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

        var authorization = string.Join(",", request.Headers.GetValues("Authorization"));
        Assert.Contains("Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request", authorization, StringComparison.Ordinal);
        Assert.Contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date", authorization, StringComparison.Ordinal);
        Assert.EndsWith("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", authorization, StringComparison.Ordinal);
    }

    [Fact]
    public void A_multipart_request_with_a_copy_source_is_signed_as_botocore_signs_it()
    {
        // Reference computed with botocore's S3SigV4Auth for the same request, time and keys.
        var signer = new S3Signer("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1");
        using var request = new HttpRequestMessage(HttpMethod.Put, "http://127.0.0.1:9000/bucket/uploads/a%20b/parts?uploadId=abc%2Fdef&partNumber=3");
        request.Headers.TryAddWithoutValidation("x-amz-copy-source", "/bucket/blobs/sha256/ab/x");

        signer.Sign(request, new DateTimeOffset(2013, 5, 24, 0, 0, 0, TimeSpan.Zero));

        Assert.EndsWith(
            "SignedHeaders=host;x-amz-content-sha256;x-amz-copy-source;x-amz-date, Signature=e209bc6eea304a2ef869d67579325b94f12dfbc05ff5851d434dd1202a8115f4",
            string.Join(",", request.Headers.GetValues("Authorization")),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Virtual_host_style_puts_the_bucket_in_the_host_name()
    {
        var client = new S3Client(new HttpClient(), new S3Signer("a", "b", "us-east-1"), new Uri("https://s3.example.com:8443"), "blobs", pathStyle: false,
            new S3Retry(1, TimeSpan.FromSeconds(1), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance), TimeProvider.System);
        var pathStyle = new S3Client(new HttpClient(), new S3Signer("a", "b", "us-east-1"), new Uri("https://s3.example.com:8443"), "blobs", pathStyle: true,
            new S3Retry(1, TimeSpan.FromSeconds(1), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance), TimeProvider.System);

        Assert.Equal("https://blobs.s3.example.com:8443/blobs/sha256/ab/abc", client.ObjectUri("blobs/sha256/ab/abc").ToString());
        Assert.Equal("https://s3.example.com:8443/blobs/blobs/sha256/ab/abc", pathStyle.ObjectUri("blobs/sha256/ab/abc").ToString());
    }

    /// <summary>A data directory for the metadata database the storage services also register.</summary>
    private sealed class TemporaryDataDirectory : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "registry-s3-settings", Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
    }
}
