using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Minio;
using Minio.DataModel.Args;
using Registry.Core;

namespace Registry.Storage.Blobs.S3;

/// <summary>
/// Blobs in an S3 bucket (AWS, MinIO, Ceph, any S3 API), laid out as <see cref="S3Layout"/> describes, so that
/// several registry replicas share them. Reads stream from S3 and serve byte ranges with ranged GETs, or redirect to
/// a presigned URL when <see cref="S3BlobStoreOptions.Redirect"/> is on. Uploads are staged as pieces of at most the
/// part size (<see cref="S3AppendStream"/>) and committed by assembling them under the digest inside S3
/// (<see cref="S3Composer"/>). Every request is retried on transient errors (<see cref="S3Retry"/>); a missing object
/// is "not there", any other failure is an error, never a miss. The bucket is created on first use when missing.
/// </summary>
public sealed partial class S3BlobStore : IBlobStore, IBlobStoreProbe, IDisposable
{
    /// <summary>Staged objects deleted at once when an upload is committed or dropped.</summary>
    private const int DeleteParallelism = 8;

    private readonly S3BlobStoreOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly IMinioClient _minio;
    private readonly IMinioClient _presigner;
    private readonly S3Client _client;
    private readonly S3Composer _composer;
    private readonly ConcurrentDictionary<string, byte> _appending = new(StringComparer.Ordinal);
    private readonly Lock _bucketLock = new();
    private Task? _bucketReady;

    public S3BlobStore(S3BlobStoreOptions options, ILogger<S3BlobStore> logger)
    {
        _options = options;
        _logger = logger;
        var endpoint = S3BlobStoreOptions.ParseEndpoint(options.Endpoint!) ?? throw new ArgumentException("invalid S3 endpoint", nameof(options));
        var publicEndpoint = options.PublicEndpoint is { Length: > 0 } p ? S3BlobStoreOptions.ParseEndpoint(p)! : endpoint;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // each attempt has its own (S3Retry); a blob's body may stream for long
        };
        var retry = new S3Retry(options.MaxAttempts, options.RequestTimeout, logger);
        var signer = new S3Signer(options.AccessKey!, options.SecretKey!, options.Region);
        _client = new S3Client(_http, signer, endpoint, options.Bucket!, options.ForcePathStyle, retry, TimeProvider.System);
        _composer = new S3Composer(_client, options.PartSize, logger);
        _minio = Minio(endpoint);
        _presigner = Minio(publicEndpoint);
    }

    internal S3Client Client => _client;

    internal S3Composer Composer => _composer;

    /// <summary>Checks that the bucket exists and creates it if not; once per process (again after a failure).</summary>
    public Task EnsureBucketAsync(CancellationToken ct)
    {
        lock (_bucketLock)
        {
            if (_bucketReady is null || _bucketReady.IsFaulted || _bucketReady.IsCanceled)
            {
                _bucketReady = CreateBucketIfMissingAsync();
            }

            return _bucketReady.WaitAsync(ct);
        }
    }

    /// <summary>A HEAD of the bucket: the endpoint answers, the credentials are accepted and the bucket exists.</summary>
    public Task ProbeAsync(CancellationToken cancellationToken) => _client.HeadBucketAsync(cancellationToken);

    public async Task<BlobStat?> StatAsync(Digest digest, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        return await _client.HeadAsync(S3Layout.BlobKey(digest), cancellationToken) is { } found ? new BlobStat(found.Size) : null;
    }

    public async Task<BlobContent?> OpenAsync(Digest digest, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        var key = S3Layout.BlobKey(digest);

        // The HEAD gives the size and keeps "a lost blob is unknown" true; the GET waits for the first read, so that a
        // Range request (the API seeks first) fetches only its range.
        if (await _client.HeadAsync(key, cancellationToken) is not { } found)
        {
            return null;
        }

        if (!_options.Redirect)
        {
            return new BlobContent.Content(new S3ReadStream(_client, key, found.Size), found.Size);
        }

        var url = await _presigner.PresignedGetObjectAsync(new PresignedGetObjectArgs()
            .WithBucket(_options.Bucket).WithObject(key).WithExpiry((int)_options.RedirectExpiry.TotalSeconds));
        return new BlobContent.Redirect(new Uri(url), found.Size);
    }

    public async Task DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        await _client.DeleteAsync(S3Layout.BlobKey(digest), cancellationToken);
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        await foreach (var o in _client.ListAsync(S3Layout.BlobPrefix, cancellationToken))
        {
            if (S3Layout.ParseBlobKey(o.Key) is { } digest)
            {
                yield return new StoredBlob(digest, o.Size);
            }
        }
    }

    public async Task CreateStagingAsync(string uploadId, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        await _client.PutAsync(S3Layout.SessionKey(uploadId), () => new ByteArrayContent([]), cancellationToken);
    }

    public async Task<long?> GetStagedLengthAsync(string uploadId, CancellationToken cancellationToken)
    {
        var upload = await ReadUploadAsync(uploadId, cancellationToken);
        return upload.Exists ? upload.Length : null;
    }

    /// <remarks>
    /// Exclusive within this process. S3 has no locks; two replicas writing one upload at once leave overlapping
    /// pieces, which commit refuses (see <see cref="S3Layout"/>).
    /// </remarks>
    public async Task<Stream> OpenAppendAsync(string uploadId, CancellationToken cancellationToken)
    {
        if (!_appending.TryAdd(uploadId, 0))
        {
            throw new IOException($"upload {uploadId} is being appended to by another request");
        }

        try
        {
            var upload = await ReadUploadAsync(uploadId, cancellationToken);
            if (!upload.Exists)
            {
                throw new FileNotFoundException($"upload {uploadId} has no staged data");
            }

            var writer = Guid.NewGuid().ToString("N")[..16];
            return new S3AppendStream(
                upload.Length,
                _options.PartSize,
                (offset, bytes, ct) => _client.PutAsync(S3Layout.PartKey(uploadId, offset, writer), () => new ReadOnlyMemoryContent(bytes), ct),
                () => _appending.TryRemove(uploadId, out _));
        }
        catch
        {
            _appending.TryRemove(uploadId, out _);
            throw;
        }
    }

    public async Task<Stream> OpenStagedReadAsync(string uploadId, CancellationToken cancellationToken)
    {
        var upload = await ReadUploadAsync(uploadId, cancellationToken);
        return upload.Exists ? new S3ConcatStream(_client, upload.Chain().Chain) : throw new FileNotFoundException($"upload {uploadId} has no staged data");
    }

    /// <summary>Drops the pieces from <paramref name="length"/> on; an append starts a piece, so it ends on a piece boundary.</summary>
    public async Task TruncateStagedAsync(string uploadId, long length, CancellationToken cancellationToken)
    {
        var upload = await ReadUploadAsync(uploadId, cancellationToken);
        if (upload.Parts.Any(p => p.Offset < length && p.End > length))
        {
            throw new InvalidOperationException($"upload {uploadId} cannot be cut at {length}: a staged piece spans it");
        }

        await DeleteKeysAsync(upload.Parts.Where(p => p.Offset >= length).Select(p => p.Key), cancellationToken);
    }

    /// <remarks>
    /// The caller holds the blob's record (a database lock) meanwhile, so this does as few requests as it can: one HEAD
    /// when the blob is already there, else a listing and the assembly. The staged objects are removed afterwards, in
    /// the background: the upload's session is gone from the database with this commit, and an object left behind by
    /// a failure or a stop is an orphan the upload purger removes.
    /// </remarks>
    public async Task CommitAsync(string uploadId, Digest digest, CancellationToken cancellationToken)
    {
        var target = S3Layout.BlobKey(digest);
        await EnsureBucketAsync(cancellationToken);
        if (await _client.HeadAsync(target, cancellationToken) is null)
        {
            // Content-addressed: a blob already there holds these very bytes, and the staged copy is simply dropped.
            var upload = await ReadUploadAsync(uploadId, cancellationToken);
            if (!upload.Exists)
            {
                throw new FileNotFoundException($"upload {uploadId} has no staged data");
            }

            var (chain, conflict) = upload.Chain();
            if (conflict)
            {
                throw new RegistryException(ErrorCode.BlobUploadInvalid, "the upload was written by two requests at once; start it again");
            }

            await _composer.ComposeAsync(chain, target, cancellationToken);
        }

        _ = Task.Run(() => DropInBackgroundAsync(uploadId), CancellationToken.None);
    }

    public async Task DeleteStagingAsync(string uploadId, CancellationToken cancellationToken) =>
        await DropAsync(uploadId, await ReadUploadAsync(uploadId, cancellationToken), cancellationToken);

    public async IAsyncEnumerable<string> ListStagingAsync(DateTime olderThan, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        string? current = null;
        var lastWritten = DateTime.MinValue;
        await foreach (var o in _client.ListAsync(S3Layout.UploadPrefix, cancellationToken))
        {
            var id = S3Layout.UploadIdOf(o.Key);
            if (id != current)
            {
                if (current is not null && lastWritten < olderThan)
                {
                    yield return current;
                }

                (current, lastWritten) = (id, DateTime.MinValue);
            }

            lastWritten = o.LastModified > lastWritten ? o.LastModified : lastWritten;
        }

        if (current is not null && lastWritten < olderThan)
        {
            yield return current;
        }
    }

    public void Dispose()
    {
        _minio.Dispose();
        _presigner.Dispose();
        _http.Dispose();
    }

    private async Task DropInBackgroundAsync(string uploadId)
    {
        try
        {
            await DeleteStagingAsync(uploadId, CancellationToken.None);
        }
        catch (Exception e) when (e is S3Exception or HttpRequestException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            LogStagingLeft(_logger, uploadId, e.Message);
        }
    }

    private async Task<StagedUpload> ReadUploadAsync(string uploadId, CancellationToken ct)
    {
        await EnsureBucketAsync(ct);
        var objects = new List<S3Object>();
        await foreach (var o in _client.ListAsync(S3Layout.UploadDirectory(uploadId), ct))
        {
            objects.Add(o);
        }

        return S3Layout.Read(uploadId, objects);
    }

    /// <summary>Removes an upload's objects, the session first: from then on the upload does not exist, even half-removed.</summary>
    private async Task DropAsync(string uploadId, StagedUpload upload, CancellationToken ct)
    {
        await _client.DeleteAsync(S3Layout.SessionKey(uploadId), ct);
        await DeleteKeysAsync(upload.Parts.Select(p => p.Key), ct);
    }

    private Task DeleteKeysAsync(IEnumerable<string> keys, CancellationToken ct) =>
        Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = DeleteParallelism, CancellationToken = ct }, async (key, token) =>
            await _client.DeleteAsync(key, token));

    private async Task CreateBucketIfMissingAsync()
    {
        var bucket = _options.Bucket!;
        try
        {
            var exists = await _client.Retry.RunAsync($"check of bucket {bucket}", token => _minio.BucketExistsAsync(new BucketExistsArgs().WithBucket(bucket), token), CancellationToken.None);
            if (!exists)
            {
                await _client.Retry.RunAsync($"creation of bucket {bucket}", token => _minio.MakeBucketAsync(new MakeBucketArgs().WithBucket(bucket).WithLocation(_options.Region), token), CancellationToken.None);
                LogBucketCreated(_logger, bucket, _options.Endpoint!);
            }
        }
        catch (Exception e) when (e is not S3Exception)
        {
            // The Minio SDK's own exceptions (some are NullReferenceExceptions on error answers): say what failed.
            throw new S3Exception($"the S3 bucket {bucket} at {_options.Endpoint} could not be checked or created: {e.GetType().Name}: {e.Message}", null, null, e);
        }
    }

    private IMinioClient Minio(Uri endpoint) =>
        new MinioClient()
            .WithEndpoint(endpoint.Host, endpoint.Port)
            .WithSSL(endpoint.Scheme == Uri.UriSchemeHttps)
            .WithCredentials(_options.AccessKey, _options.SecretKey)
            .WithRegion(_options.Region)
            .WithHttpClient(_http, disposeHttpClient: false)
            .Build();

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the S3 bucket {Bucket} at {Endpoint}")]
    private static partial void LogBucketCreated(ILogger logger, string bucket, string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload {UploadId} was committed but its staged objects could not all be removed ({Error}); the upload purger removes them later")]
    private static partial void LogStagingLeft(ILogger logger, string uploadId, string error);
}
