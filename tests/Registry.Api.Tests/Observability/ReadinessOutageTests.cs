using System.Net;
using System.Text.Json;
using Registry.Testing;

namespace Registry.Api.Tests.Observability;

/// <summary>
/// A registry process on PostgreSQL and S3 of its own (a restartable PostgreSQL container and a private s3rver, never
/// the shared ones other tests use), whose servers the tests stop and start again.
/// </summary>
public sealed class OutageFixture : IAsyncLifetime
{
    public PostgresServer Postgres { get; private set; } = null!;

    public S3Server S3 { get; private set; } = null!;

    public RegistryProcess Registry { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartRestartableAsync();
        S3 = await S3Server.StartAsync();
        Registry = await RegistryProcess.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Registry__Database__Provider"] = "Postgres",
            ["Registry__Database__ConnectionString"] = await Postgres.CreateDatabaseAsync(),
            ["Registry__Storage__Provider"] = "S3",
            ["Registry__Storage__S3__Endpoint"] = S3.Endpoint.ToString(),
            ["Registry__Storage__S3__Bucket"] = S3Server.NewBucketName(),
            ["Registry__Storage__S3__AccessKey"] = S3Server.AccessKey,
            ["Registry__Storage__S3__SecretKey"] = S3Server.SecretKey,
            ["Registry__Storage__S3__ForcePathStyle"] = "true",
        });
    }

    public async Task DisposeAsync()
    {
        if (Registry is not null)
        {
            await Registry.DisposeAsync();
        }

        if (S3 is not null)
        {
            await S3.DisposeAsync();
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
    }
}

/// <summary>/readyz answers 503 while PostgreSQL or the S3 server is stopped, naming the failed check, and 200 once it is back.</summary>
public sealed class ReadinessOutageTests(OutageFixture fixture) : IClassFixture<OutageFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReadinessFollowsPostgreSql()
    {
        using var client = ObservedRegistry.PlainClient(fixture.Registry);
        await AssertReadyAsync(client);

        await fixture.Postgres.StopAsync();
        try
        {
            var down = await WaitForAsync(client, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", down.Checks["database"]);
            Assert.Equal("Healthy", down.Checks["blobStore"]);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            await fixture.Postgres.StartAgainAsync();
        }

        await WaitForAsync(client, HttpStatusCode.OK);
    }

    [Fact]
    public async Task ReadinessFollowsTheS3Server()
    {
        using var client = ObservedRegistry.PlainClient(fixture.Registry);
        await AssertReadyAsync(client);

        await fixture.S3.StopAsync();
        try
        {
            var down = await WaitForAsync(client, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", down.Checks["blobStore"]);
            Assert.Equal("Healthy", down.Checks["database"]);
            Assert.DoesNotContain(S3Server.SecretKey, down.Body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            await fixture.S3.StartAgainAsync();
        }

        await WaitForAsync(client, HttpStatusCode.OK);
    }

    private async Task AssertReadyAsync(HttpClient client)
    {
        // A test before this one brought its server back; readiness may take a probe or two to follow.
        var ready = await WaitForAsync(client, HttpStatusCode.OK);
        Assert.Equal("Healthy", ready.Checks["database"]);
        Assert.Equal("Healthy", ready.Checks["blobStore"]);
    }

    /// <summary>Polls /readyz until it answers <paramref name="status"/>; a probe answers within the check timeout of 3 s.</summary>
    private async Task<Readiness> WaitForAsync(HttpClient client, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow + Deadline;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync("/readyz");
            var body = await response.Content.ReadAsStringAsync();
            last = $"{(int)response.StatusCode} {body}";
            if (response.StatusCode == status)
            {
                using var json = JsonDocument.Parse(body);
                var checks = json.RootElement.GetProperty("checks").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
                return new Readiness(body, checks);
            }

            await Task.Delay(250);
        }

        throw new Xunit.Sdk.XunitException($"/readyz did not answer {(int)status} within {Deadline} (last: {last})\n--- registry output ---\n{fixture.Registry.Output}");
    }

    private sealed record Readiness(string Body, Dictionary<string, string> Checks);
}
