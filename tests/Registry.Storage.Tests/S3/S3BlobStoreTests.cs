using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Blobs.S3;
using Registry.Testing;

namespace Registry.Storage.Tests.S3;

/// <summary>
/// What the storage contract cannot see of the S3 store: ranged reads, uploads of several parts, retries through
/// faults provoked on the wire, bucket creation, redirects. Against a real s3rver, a bucket per test.
/// </summary>
[Collection(S3StorageCollection.Name)]
public sealed class S3BlobStoreTests
{
    private const int MiB = 1024 * 1024;

    private static async Task<S3BlobStore> StoreAsync(Action<S3BlobStoreOptions>? configure = null, Uri? endpoint = null, string? bucket = null)
    {
        var server = await S3Server.GetAsync();
        var options = new S3BlobStoreOptions
        {
            Endpoint = (endpoint ?? server.Endpoint).ToString(),
            Bucket = bucket ?? S3Server.NewBucketName(),
            AccessKey = S3Server.AccessKey,
            SecretKey = S3Server.SecretKey,
            PartSize = S3BlobStoreOptions.MinimumPartSize,
        };
        configure?.Invoke(options);
        return new S3BlobStore(options, NullLogger<S3BlobStore>.Instance);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Stages <paramref name="content"/> in appends of the given sizes and commits it.</summary>
    private static async Task<(Digest Digest, string UploadId)> UploadAsync(S3BlobStore store, byte[] content, params int[] appends)
    {
        var id = UploadId.New();
        await store.CreateStagingAsync(id, default);
        var offset = 0;
        foreach (var size in appends.Length == 0 ? [content.Length] : appends)
        {
            await using (var stream = await store.OpenAppendAsync(id, default))
            {
                await stream.WriteAsync(content.AsMemory(offset, size));
            }

            offset += size;
        }

        var digest = Digest.ComputeSha256(content);
        await store.CommitAsync(id, digest, default);
        return (digest, id);
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task A_range_is_read_with_a_ranged_get_not_the_whole_object()
    {
        var server = await S3Server.GetAsync();
        var bucket = S3Server.NewBucketName();
        var content = RandomBytes(12 * MiB);
        using (var writer = await StoreAsync(bucket: bucket))
        {
            await UploadAsync(writer, content);
        }

        await using var proxy = new FaultyProxy(server.Endpoint, _ => new Fault.None());
        using var store = await StoreAsync(endpoint: proxy.Endpoint, bucket: bucket);
        var opened = Assert.IsType<BlobContent.Content>(await store.OpenAsync(Digest.ComputeSha256(content), default));
        await using var stream = opened.Stream;
        Assert.True(stream.CanSeek);
        Assert.Equal(content.Length, opened.Size);

        stream.Seek(content.Length - 1000, SeekOrigin.Begin);
        var tail = await ReadAllAsync(stream);
        stream.Seek(5 * MiB, SeekOrigin.Begin);
        var middle = new byte[100];
        await stream.ReadExactlyAsync(middle);

        Assert.Equal(content[^1000..], tail);
        Assert.Equal(content.AsSpan(5 * MiB, 100).ToArray(), middle);
        Assert.True(proxy.BytesFromServer < 2 * MiB, $"{proxy.BytesFromServer} bytes came from S3 for two small ranges of a 12 MiB blob");
    }

    [Fact]
    public async Task An_upload_larger_than_a_part_is_staged_in_parts_and_committed_whole()
    {
        using var store = await StoreAsync();
        var content = RandomBytes((15 * MiB) + 17);
        var id = UploadId.New();
        await store.CreateStagingAsync(id, default);
        await using (var stream = await store.OpenAppendAsync(id, default))
        {
            await stream.WriteAsync(content.AsMemory(0, 12 * MiB));
        }

        await using (var stream = await store.OpenAppendAsync(id, default))
        {
            await stream.WriteAsync(content.AsMemory(12 * MiB));
        }

        var pieces = new List<(string Key, long Size)>();
        await foreach (var o in store.Client.ListAsync($"uploads/{id}/parts/", default))
        {
            pieces.Add((o.Key, o.Size));
        }

        Assert.Equal([5 * MiB, 5 * MiB, 2 * MiB, (3 * MiB) + 17], pieces.Select(p => p.Size));
        Assert.Equal(content.Length, await store.GetStagedLengthAsync(id, default));
        await using (var staged = await store.OpenStagedReadAsync(id, default))
        {
            Assert.Equal(content, await ReadAllAsync(staged));
        }

        var digest = Digest.ComputeSha256(content);
        await store.CommitAsync(id, digest, default);

        var blob = Assert.IsType<BlobContent.Content>(await store.OpenAsync(digest, default));
        await using (blob.Stream)
        {
            Assert.Equal(content, await ReadAllAsync(blob.Stream));
        }

        Assert.Equal(content.Length, (await store.StatAsync(digest, default))!.Size);
        Assert.True(store.Composer.PartCopyUnsupported); // s3rver: the parts were streamed
    }

    [Fact]
    public void Pieces_of_at_least_5_MiB_are_parts_of_their_own_and_smaller_ones_are_grouped()
    {
        var pieces = new[] { 5L * MiB, 5L * MiB, 2L * MiB, 3L * MiB, 1, 6L * MiB, MiB }
            .Aggregate(new List<StagedPart>(), (list, size) =>
            {
                list.Add(new StagedPart($"k{list.Count}", list.Count == 0 ? 0 : list[^1].End, size));
                return list;
            });

        var plan = S3Composer.Plan(pieces, pieces.Sum(p => p.Size));

        Assert.Equal(["k0", "k1", "k2+k3", "k4+k5", "k6"], plan.Select(g => string.Join('+', g.Select(p => p.Key))));
    }

    [Fact]
    public async Task A_busy_server_is_tried_again_until_it_answers()
    {
        var server = await S3Server.GetAsync();
        var bucket = S3Server.NewBucketName();
        using (var creator = await StoreAsync(bucket: bucket))
        {
            await creator.EnsureBucketAsync(default);
        }

        await using var proxy = new FaultyProxy(server.Endpoint, connection => connection < 2 ? new Fault.SlowDown() : new Fault.None());
        var client = RawClient(proxy.Endpoint, bucket, out var http);
        using (http)
        {
            await client.PutAsync("retry/object", () => new ByteArrayContent([1, 2, 3]), default);

            Assert.Equal(2, proxy.Faults);
            Assert.Equal(3, (await client.HeadAsync("retry/object", default))!.Size);
        }
    }

    [Fact]
    public async Task A_busy_server_that_stays_busy_fails_the_request_after_the_last_attempt()
    {
        await using var proxy = new FaultyProxy((await S3Server.GetAsync()).Endpoint, _ => new Fault.SlowDown());
        var client = RawClient(proxy.Endpoint, S3Server.NewBucketName(), out var http);
        using (http)
        {
            var e = await Assert.ThrowsAsync<S3Exception>(() => client.HeadAsync("never", default));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, e.Status);
            Assert.Equal(3, proxy.Faults);
        }
    }

    [Fact]
    public async Task A_read_whose_connection_breaks_resumes_where_it_stopped()
    {
        var server = await S3Server.GetAsync();
        var bucket = S3Server.NewBucketName();
        var content = RandomBytes(6 * MiB);
        Digest digest;
        using (var writer = await StoreAsync(bucket: bucket))
        {
            digest = (await UploadAsync(writer, content)).Digest;
        }

        // The first connection breaks after 1 MiB of the body has come through.
        await using var proxy = new FaultyProxy(server.Endpoint, connection => connection == 0 ? new Fault.CutAfter(MiB) : new Fault.None());
        var client = RawClient(proxy.Endpoint, bucket, out var http);
        using (http)
        {
            await using var stream = new S3ReadStream(client, S3Layout.BlobKey(digest), content.Length);

            Assert.Equal(content, await ReadAllAsync(stream));
            Assert.Equal(1, proxy.Faults);
        }
    }

    [Fact]
    public async Task The_bucket_is_created_when_missing()
    {
        var server = await S3Server.GetAsync();
        var bucket = S3Server.NewBucketName();
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(server.Endpoint, bucket))).StatusCode);

        using (var store = await StoreAsync(bucket: bucket))
        {
            Assert.Null(await store.StatAsync(Digest.ComputeSha256([1]), default));
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(server.Endpoint, bucket))).StatusCode);
        using var again = await StoreAsync(bucket: bucket);
        await again.EnsureBucketAsync(default); // an existing bucket is simply used
    }

    [Fact]
    public async Task Pieces_written_by_two_writers_at_once_are_refused_at_commit()
    {
        using var store = await StoreAsync();
        var id = UploadId.New();
        await store.CreateStagingAsync(id, default);
        await using (var stream = await store.OpenAppendAsync(id, default))
        {
            await stream.WriteAsync(new byte[] { 1, 2, 3 });
        }

        // Another replica's request for the same upload, started at the same offset.
        await store.Client.PutAsync(S3Layout.PartKey(id, 0, "otherwriter00000"), () => new ByteArrayContent([9, 9, 9]), default);

        var e = await Assert.ThrowsAsync<RegistryException>(() => store.CommitAsync(id, Digest.ComputeSha256([1, 2, 3]), default));
        Assert.Equal(ErrorCode.BlobUploadInvalid, e.Error);
        Assert.Null(await store.StatAsync(Digest.ComputeSha256([1, 2, 3]), default));
    }

    [Fact]
    public async Task Redirects_are_presigned_for_the_public_endpoint_when_one_is_set()
    {
        var bucket = S3Server.NewBucketName();
        var content = RandomBytes(1000);
        using var store = await StoreAsync(o => (o.Redirect, o.PublicEndpoint) = (true, "https://s3.example.com:8443"), bucket: bucket);
        var (digest, _) = await UploadAsync(store, content);

        var redirect = Assert.IsType<BlobContent.Redirect>(await store.OpenAsync(digest, default));

        Assert.Equal(("https", "s3.example.com", 8443), (redirect.Location.Scheme, redirect.Location.Host, redirect.Location.Port));
        Assert.Contains($"/{bucket}/{S3Layout.BlobKey(digest)}", redirect.Location.AbsolutePath, StringComparison.Ordinal);
        Assert.Contains("X-Amz-Signature=", redirect.Location.Query, StringComparison.Ordinal);
        Assert.Equal(content.Length, redirect.Size);
    }

    [Fact]
    public async Task A_redirect_leads_to_the_blob()
    {
        var content = RandomBytes(3000);
        using var store = await StoreAsync(o => o.Redirect = true);
        var (digest, _) = await UploadAsync(store, content);

        var redirect = Assert.IsType<BlobContent.Redirect>(await store.OpenAsync(digest, default));
        using var http = new HttpClient();

        Assert.Equal(content, await http.GetByteArrayAsync(redirect.Location));
        Assert.Null(await store.OpenAsync(Digest.ComputeSha256([1, 2]), default));
    }

    [Fact]
    public async Task The_probe_passes_on_the_bucket_and_fails_on_a_missing_bucket_or_server()
    {
        using var store = await StoreAsync();
        await store.EnsureBucketAsync(default);
        using var missingBucket = await StoreAsync();
        using var noServer = await StoreAsync(endpoint: new Uri($"http://127.0.0.1:{FreePort.Get()}"));

        await store.ProbeAsync(default);
        var missing = await Assert.ThrowsAsync<S3Exception>(() => missingBucket.ProbeAsync(default));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => noServer.ProbeAsync(default));

        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.DoesNotContain(S3Server.SecretKey, missing.Message, StringComparison.Ordinal);
    }

    private static S3Client RawClient(Uri endpoint, string bucket, out HttpClient http)
    {
        // No pooled connections: each attempt is a new connection, which the proxy's plan numbers.
        http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero });
        var retry = new S3Retry(maxAttempts: 3, TimeSpan.FromSeconds(30), NullLogger.Instance);
        return new S3Client(http, new S3Signer(S3Server.AccessKey, S3Server.SecretKey, "us-east-1"), endpoint, bucket, pathStyle: true, retry, TimeProvider.System);
    }
}
