using System.Net;
using System.Security.Cryptography;
using Registry.Testing;

namespace Registry.Api.Tests.Hosting;

/// <summary>
/// The real server process: what it leaves on disk (owner-only files whatever the umask), and how it refuses to start
/// (one line on standard error, exit code 1) when a setting or the key-encryption key is wrong.
/// </summary>
public sealed class ServerProcessTests : IDisposable
{
    private readonly TemporaryDirectory _parent = new("registry-process");

    public void Dispose() => _parent.Dispose();

    [Theory]
    [InlineData("Registry__Auth__TokenLifetime", "00:00:10", "invalid setting Registry:Auth:TokenLifetime", "between 00:01:00 and")]
    [InlineData("Registry__Auth__TokenLifetime", "ten minutes", "Registry:Auth:TokenLifetime", "TimeSpan")]
    [InlineData("Registry__Proxy__KnownNetworks__0", "10.0.0.0/33", "invalid setting Registry:Proxy:KnownNetworks", "'10.0.0.0/33' is not a network")]
    [InlineData("Registry__Storage__Provider", "S3", "invalid setting Registry:Storage:S3:Bucket", "required")]
    [InlineData("Registry__Storage__Provider", "Tape", "Registry:Storage:Provider", "BlobStoreProvider")]
    [InlineData("Registry__PublicUrl", "registry.example.com", "invalid setting Registry:PublicUrl", "is not an absolute http or https URL")]
    [InlineData("Registry__PublicUrl", "ftp://registry.example.com", "invalid setting Registry:PublicUrl", "is not an absolute http or https URL")]
    [InlineData("Registry__PublicUrl", "https://registry.example.com/?tenant=1", "invalid setting Registry:PublicUrl", "without user, query or fragment")]
    public async Task AnInvalidSettingIsOneLineOnStandardErrorAndExitCodeOne(string variable, string value, string setting, string rule)
    {
        var result = await RunUntilExitAsync(_parent.Combine("data"), new() { [variable] = value });

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(Lines(result.StandardError));
        Assert.Contains(setting, line, StringComparison.Ordinal);
        Assert.Contains(rule, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.CombinedOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(_parent.Combine("data", "registry.db")), "nothing is written before the settings are checked");
    }

    [Fact]
    public async Task AnS3BucketThatCannotBeReachedIsOneLineWithoutTheSecret()
    {
        const string secret = "s3-secret-that-must-not-show";
        var result = await RunUntilExitAsync(_parent.Combine("data"), new()
        {
            ["Registry__Storage__Provider"] = "S3",
            ["Registry__Storage__S3__Endpoint"] = $"http://127.0.0.1:{FreePort.Get()}",
            ["Registry__Storage__S3__Bucket"] = "unreachable-bucket",
            ["Registry__Storage__S3__AccessKey"] = "key",
            ["Registry__Storage__S3__SecretKey"] = secret,
            ["Registry__Storage__S3__MaxAttempts"] = "2",
        });

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(Lines(result.StandardError));
        Assert.Contains("blob store:", line, StringComparison.Ordinal);
        Assert.Contains("unreachable-bucket", line, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, result.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FilesAreOwnerOnlyAfterStartAndAPushWithUmask022()
    {
        var data = _parent.Combine("data");
        using (FileModes.Umask("022"))
        {
            await using var registry = await RegistryProcess.StartAsync(data);
            using var client = RegistryAuthHandler.CreateClient(registry);
            var layer = RandomNumberGenerator.GetBytes(10_000);
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(layer));
            using var whole = await client.PostAsync($"/v2/modes/app/blobs/uploads/?digest={digest}", new ByteArrayContent(layer));
            Assert.Equal(HttpStatusCode.Created, whole.StatusCode);
            using var started = await client.PostAsync("/v2/modes/app/blobs/uploads/", content: null);
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

            var database = Path.Combine(data, "registry.db");
            Assert.True(File.Exists(database + "-wal"), "the database has its -wal file while the server runs");
            var files = new[] { database, database + "-wal", database + "-shm", Path.Combine(data, "secrets.key") }
                .Concat(Directory.EnumerateFiles(Path.Combine(data, "blobs"), "*", SearchOption.AllDirectories))
                .Concat(Directory.EnumerateFiles(Path.Combine(data, "uploads")))
                .ToList();
            Assert.Contains(files, f => f.EndsWith(digest["sha256:".Length..], StringComparison.Ordinal));
            Assert.Contains(files, f => Path.GetDirectoryName(f) == Path.Combine(data, "uploads"));
            Assert.All(files, f => Assert.Equal("0600", FileModes.Of(f)));
            var directories = Directory.EnumerateDirectories(data, "*", SearchOption.AllDirectories).Append(data).ToList();
            Assert.All(directories, d => Assert.Equal("0700", FileModes.Of(d)));
        }
    }

    [Fact]
    public async Task ADataDirectoryOpenToOtherUsersIsMadePrivateAtStart()
    {
        var data = _parent.Combine("data");
        await using var registry = await RegistryProcess.StartAsync(data);
        await registry.DisposeAsync();
        FileModes.Set(data, "0755");
        FileModes.Set(Path.Combine(data, "registry.db"), "0644");
        FileModes.Set(Path.Combine(data, "secrets.key"), "0644");

        await using var restarted = await RegistryProcess.StartAsync(data);

        Assert.Equal("0700", FileModes.Of(data));
        Assert.Equal("0600", FileModes.Of(Path.Combine(data, "registry.db")));
        Assert.Equal("0600", FileModes.Of(Path.Combine(data, "secrets.key")));
        Assert.Contains($"{data} was open to other users (mode 0755); it is now 0700", restarted.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARestartWithTheSameKeyFileWorksAndAnotherKeyIsRefusedInOneLine()
    {
        var data = _parent.Combine("data");
        var keyFile = _parent.Combine("kek");
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        var withKeyFile = new Dictionary<string, string?> { ["Registry__Secrets__KeyFile"] = keyFile };
        string password;
        await using (var first = await RegistryProcess.StartAsync(data, environment: withKeyFile))
        {
            password = first.AdminPassword;
        }

        withKeyFile[RegistryProcess.AdminPasswordVariable] = password;
        await using (var again = await RegistryProcess.StartAsync(data, environment: withKeyFile))
        {
            using var client = RegistryAuthHandler.CreateClient(again);
            using var probe = await client.GetAsync("/v2/");
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        }

        var wrong = await RunUntilExitAsync(data, new() { ["Registry__Secrets__Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) });
        var missing = await RunUntilExitAsync(data, new());

        Assert.Equal(1, wrong.ExitCode);
        var line = Assert.Single(Lines(wrong.StandardError));
        Assert.Contains("was encrypted with key-encryption key", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", wrong.CombinedOutput, StringComparison.Ordinal);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("secrets.key does not exist", Assert.Single(Lines(missing.StandardError)), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data, "secrets.key")), "no new key is generated while the database holds encrypted keys");
    }

    private static async Task<ProcessResult> RunUntilExitAsync(string dataDirectory, Dictionary<string, string?> environment)
    {
        var assembly = RegistryProcess.FindApiAssembly();
        environment["REGISTRY_DATA_DIR"] = dataDirectory;
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        environment["DOTNET_ENVIRONMENT"] = "Production";
        return await ProcessRunner.RunAsync(
            "dotnet", [assembly, "--urls", $"http://127.0.0.1:{FreePort.Get()}"], TimeSpan.FromSeconds(60), environment,
            workingDirectory: Path.GetDirectoryName(assembly));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
