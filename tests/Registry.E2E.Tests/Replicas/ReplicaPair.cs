using System.Security.Cryptography;
using Npgsql;
using Registry.Testing;

namespace Registry.E2E.Tests.Replicas;

/// <summary>
/// Two Registry.Api processes, each on its own port with its own data directory, sharing what replicas share: one
/// PostgreSQL database (fresh, of the shared test server), one S3 bucket (its own, of the given s3rver), the
/// key-encryption key (<c>Registry:Secrets:Key</c>) and the administrator's password. Everything is configured by
/// environment variables, as an operator would.
/// </summary>
internal sealed class ReplicaPair : IAsyncDisposable
{
    private ReplicaPair(RegistryProcess first, RegistryProcess second, string connectionString, S3Server s3, string bucket, IReadOnlyDictionary<string, string?> settings)
    {
        Settings = settings;
        First = first;
        Second = second;
        ConnectionString = connectionString;
        S3 = s3;
        Bucket = bucket;
    }

    private static readonly string[] LocalBlobDirectories = ["blobs", "uploads"];

    /// <summary>The environment both replicas were started with.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    public RegistryProcess First { get; }

    public RegistryProcess Second { get; }

    public IReadOnlyList<RegistryProcess> Replicas => [First, Second];

    public string ConnectionString { get; }

    public S3Server S3 { get; }

    public string Bucket { get; }

    /// <summary>Starts both replicas on a new database and bucket: one after the other, or both at once.</summary>
    public static async Task<ReplicaPair> StartAsync(S3Server s3, bool redirect = false, bool together = false, CancellationToken ct = default)
    {
        var postgres = await PostgresServer.GetAsync();
        var connectionString = await postgres.CreateDatabaseAsync(ct);
        var bucket = S3Server.NewBucketName();
        var environment = Environment(connectionString, s3, bucket, redirect);
        RegistryProcess? first = null;
        RegistryProcess? second = null;
        try
        {
            if (together)
            {
                // One waits for the other's start-up (migrations included) before its own.
                var starting = new[] { StartOneAsync(environment, ct), StartOneAsync(environment, ct) };
                await Task.WhenAll(starting.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
                first = starting[0].IsCompletedSuccessfully ? starting[0].Result : null;
                second = starting[1].IsCompletedSuccessfully ? starting[1].Result : null;
                if (first is null || second is null)
                {
                    // Both failures, each with its process's output: one replica's trouble often explains the other's.
                    throw new AggregateException(starting.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions));
                }
            }
            else
            {
                first = await StartOneAsync(environment, ct);
                second = await StartOneAsync(environment, ct);
            }

            return new ReplicaPair(first!, second!, connectionString, s3, bucket, environment);
        }
        catch
        {
            if (first is not null)
            {
                await first.DisposeAsync();
            }

            if (second is not null)
            {
                await second.DisposeAsync();
            }

            throw;
        }
    }

    private static Task<RegistryProcess> StartOneAsync(Dictionary<string, string?> environment, CancellationToken ct) =>
        RegistryProcess.StartAsync(environment: environment, cancellationToken: ct, startTimeout: TimeSpan.FromSeconds(90));

    /// <summary>The keys of the bucket's committed blobs (<c>blobs/sha256/ab/HEX</c>).</summary>
    public Task<IReadOnlyList<string>> BlobKeysAsync(CancellationToken ct) => S3.ListKeysAsync(Bucket, "blobs/", ct);

    /// <summary>Files under either replica's data directory that look like blob content or staged uploads.</summary>
    public IReadOnlyList<string> LocalBlobFiles() =>
        Replicas.SelectMany(r => LocalBlobDirectories
                .Select(d => Path.Combine(r.DataDirectory, d))
                .Where(Directory.Exists)
                .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)))
            .ToList();

    /// <summary>Runs one scalar query on the replicas' database.</summary>
    public async Task<long> CountAsync(string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await First.DisposeAsync();
        await Second.DisposeAsync();
    }

    private static Dictionary<string, string?> Environment(string connectionString, S3Server s3, string bucket, bool redirect) => new()
    {
        ["Registry__Database__Provider"] = "Postgres",
        ["Registry__Database__ConnectionString"] = connectionString,
        ["Registry__Storage__Provider"] = "S3",
        ["Registry__Storage__S3__Endpoint"] = s3.Endpoint.ToString(),
        ["Registry__Storage__S3__Bucket"] = bucket,
        ["Registry__Storage__S3__AccessKey"] = S3Server.AccessKey,
        ["Registry__Storage__S3__SecretKey"] = S3Server.SecretKey,
        ["Registry__Storage__S3__Redirect"] = redirect ? "true" : "false",

        // What replicas must share besides the database and the bucket: the key that encrypts the keys in the
        // database, and (for the tests) the administrator's password, which the first start sets.
        ["Registry__Secrets__Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        [RegistryProcess.AdminPasswordVariable] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
    };
}
