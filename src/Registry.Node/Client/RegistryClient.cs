using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Registry.Core;
using Registry.Core.Manifests;

namespace Registry.Node.Client;

/// <summary>
/// Talks the distribution API to one registry host: resolves references to verified manifests,
/// choosing a platform from an index, and opens blobs (with Range for resume). Every manifest's
/// digest is computed over the bytes received and compared with what was asked for and with
/// Docker-Content-Digest: the registry is never trusted. One instance per registry host.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private const int MaxConfigBytes = 8 * 1024 * 1024;

    private static readonly string[] ManifestAccept =
        [MediaTypes.OciIndex, MediaTypes.DockerManifestList, MediaTypes.OciManifest, MediaTypes.DockerManifest];

    private readonly HttpClient _http;
    private readonly RegistryAuthenticator _auth;
    private readonly RegistryClientOptions _options;

    /// <param name="registry"><c>host[:port]</c> as in an <see cref="ImageReference"/>.</param>
    /// <param name="handler">A handler to use instead of the default one (it is disposed with the client).</param>
    public RegistryClient(string registry, RegistryClientOptions? options = null, HttpMessageHandler? handler = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(registry);
        _options = options ?? new RegistryClientOptions();
        Registry = registry;
        var host = registry == ImageReference.DefaultRegistry ? "registry-1.docker.io" : registry;
        var scheme = _options.PlainHttp || IsLoopback(registry) ? "http" : "https";
        BaseAddress = new Uri($"{scheme}://{host}/");
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AllowAutoRedirect = true, // blob GETs may redirect to storage; the handler drops Authorization on redirect
            MaxAutomaticRedirections = 5,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        })
        {
            BaseAddress = BaseAddress,
            // Per-request limits instead: a layer download may legitimately take long.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("registry-node", "1.0"));
        _auth = new RegistryAuthenticator(_http, registry, _options, timeProvider ?? TimeProvider.System);
    }

    public string Registry { get; }

    public Uri BaseAddress { get; }

    public RegistryClientOptions Options => _options;

    /// <summary>
    /// Resolves <paramref name="reference"/> to a verified image manifest and config for
    /// <paramref name="platform"/> (default: the options' platform, else linux/amd64).
    /// </summary>
    public async Task<ResolvedImage> ResolveAsync(ImageReference reference, Platform? platform = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        platform ??= _options.Platform;
        var wanted = PlatformSelector.Normalize(platform ?? PlatformSelector.Default);
        var top = await GetManifestAsync(reference, reference.ManifestReference, reference.Digest, expectedSize: null, cancellationToken).ConfigureAwait(false);
        FetchedManifest? index = null;
        var manifest = top;
        if (top.Parsed.IsIndex)
        {
            index = top;
            var child = PlatformSelector.Select(top.Parsed.Manifests, wanted)
                ?? throw new PlatformNotFoundException(reference, wanted, PlatformSelector.Available(top.Parsed.Manifests));
            manifest = await GetManifestAsync(reference, child.Digest.ToString(), child.Digest, child.Size, cancellationToken).ConfigureAwait(false);
            if (manifest.Parsed.IsIndex)
            {
                throw new RegistryClientException($"{reference}: the index entry for {wanted} is itself an index, which images do not nest");
            }
        }

        var configDescriptor = manifest.Parsed.Config!;
        var configBytes = await GetSmallBlobAsync(reference.Repository, configDescriptor, MaxConfigBytes, cancellationToken).ConfigureAwait(false);
        var config = ImageConfig.Parse(configBytes.Span);
        var actual = PlatformSelector.Normalize(new Platform(config.Os, config.Architecture, config.Variant));
        // A single-platform image is taken as it is when no platform was asked for, as docker does;
        // an explicit platform must match.
        if (index is null && platform is not null && !PlatformSelector.Matches(wanted, actual))
        {
            throw new PlatformNotFoundException(reference, wanted, [actual]);
        }

        return new ResolvedImage(reference, index, manifest, configBytes, config, index is null ? actual : wanted);
    }

    /// <summary>GETs a manifest by tag or digest and verifies it (digest, size, parse).</summary>
    public async Task<FetchedManifest> GetManifestAsync(
        ImageReference image, string reference, Digest? expected, long? expectedSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{image.Repository}/manifests/{reference}");
                foreach (var type in ManifestAccept)
                {
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
                }

                return request;
            },
            image.Repository,
            timeout.Token).ConfigureAwait(false);

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var (code, message) = await HttpBodies.ReadErrorAsync(response, timeout.Token).ConfigureAwait(false);
            throw new ImageNotFoundException(expected is null ? image : image.WithDigest(expected), message ?? code) { ErrorCode = code, StatusCode = 404 };
        }

        await EnsureSuccessAsync(response, $"manifest {image.Repository}:{reference}", timeout.Token).ConfigureAwait(false);
        var bytes = await HttpBodies.ReadBoundedAsync(response.Content, ManifestParser.MaxManifestBytes, $"manifest of {image}", timeout.Token).ConfigureAwait(false);
        var what = $"manifest {image.Registry}/{image.Repository}@{reference}";
        if (expectedSize is { } size && bytes.Length != size)
        {
            throw new DigestMismatchException(what, expected!, $"{bytes.Length} bytes instead of {size}");
        }

        // Hash with the algorithm we were asked for (or the registry claims), sha256 otherwise.
        var headerDigest = response.Headers.TryGetValues("Docker-Content-Digest", out var values)
            && Digest.TryParse(values.FirstOrDefault(), out var d, out _) && d.IsSupported ? d : null;
        var algorithmSource = expected ?? headerDigest;
        var computed = algorithmSource is null ? Digest.ComputeSha256(bytes) : algorithmSource.ComputeSame(bytes);
        if (expected is not null && computed != expected)
        {
            throw new DigestMismatchException(what, expected, computed.ToString());
        }

        if (headerDigest is not null && headerDigest.Algorithm == computed.Algorithm && headerDigest != computed)
        {
            throw new DigestMismatchException($"{what} (Docker-Content-Digest)", headerDigest, computed.ToString());
        }

        ParsedManifest parsed;
        try
        {
            parsed = ManifestParser.Parse(bytes, response.Content.Headers.ContentType?.ToString());
        }
        catch (Core.RegistryException e)
        {
            throw new RegistryClientException($"{what} is not usable: {e.Message}", e);
        }

        return new FetchedManifest(computed.Algorithm == Digest.Sha256 ? computed : Digest.ComputeSha256(bytes), parsed.MediaType, bytes, parsed);
    }

    /// <summary>Fetches a small blob (a config) whole, verifying its size and digest.</summary>
    public async Task<ReadOnlyMemory<byte>> GetSmallBlobAsync(string repository, Descriptor descriptor, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.Size > maxBytes)
        {
            throw new RegistryClientException($"blob {descriptor.Digest} is {descriptor.Size} bytes; the limit for it is {maxBytes}");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        using var blob = await OpenBlobAsync(repository, descriptor.Digest, 0, timeout.Token).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await blob.Content.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > descriptor.Size)
            {
                throw new DigestMismatchException($"blob {repository}@{descriptor.Digest}", descriptor.Digest, $"more than the {descriptor.Size} bytes announced");
            }

            buffer.Write(chunk, 0, read);
        }

        var bytes = buffer.ToArray();
        if (bytes.Length != descriptor.Size)
        {
            throw new DigestMismatchException($"blob {repository}@{descriptor.Digest}", descriptor.Digest, $"{bytes.Length} bytes instead of {descriptor.Size}");
        }

        var computed = descriptor.Digest.ComputeSame(bytes);
        return computed == descriptor.Digest
            ? bytes
            : throw new DigestMismatchException($"blob {repository}@{descriptor.Digest}", descriptor.Digest, computed.ToString());
    }

    /// <summary>
    /// Opens a blob for reading from <paramref name="offset"/> (a Range request when &gt; 0).
    /// The caller verifies what it reads; the registry may ignore the range (see <see cref="BlobResponse.Offset"/>).
    /// </summary>
    public async Task<BlobResponse> OpenBlobAsync(string repository, Digest digest, long offset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digest);
        var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/blobs/{digest}");
                if (offset > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(offset, null);
                }

                return request;
            },
            repository,
            cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                var (code, message) = await HttpBodies.ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                throw new RegistryClientException($"blob {digest} not found in {Registry}/{repository}{(message is null ? "" : ": " + message)}") { ErrorCode = code, StatusCode = 404 };
            }

            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                throw new RegistryClientException($"blob {digest}: range from {offset} not satisfiable") { StatusCode = 416 };
            }

            await EnsureSuccessAsync(response, $"blob {repository}@{digest}", cancellationToken).ConfigureAwait(false);
            var start = 0L;
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                start = response.Content.Headers.ContentRange?.From
                    ?? throw new RegistryClientException($"blob {digest}: a 206 answer without Content-Range");
            }

            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new BlobResponse(response, stream, start);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Sends a request built by <paramref name="create"/> with authentication, answering one 401
    /// challenge and retrying network failures, 429 and 5xx a bounded number of times.
    /// Returns the response with headers read; the caller checks its status.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, string repository, CancellationToken cancellationToken)
    {
        var authorization = _auth.Current(repository);
        var answeredChallenge = false;
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage response;
            using (var request = create())
            {
                request.Headers.Authorization = authorization;
                try
                {
                    response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException) when (attempt < _options.MaxAttempts)
                {
                    await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                catch (HttpRequestException e)
                {
                    throw new RegistryClientException($"cannot reach {BaseAddress}: {e.Message}", e);
                }
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && !answeredChallenge)
            {
                answeredChallenge = true;
                using (response)
                {
                    // Even with a header already sent (a cached token may have expired), the first challenge is answered afresh.
                    authorization = await _auth.AnswerAsync(response, repository, cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                using (response)
                {
                    var (_, message) = await HttpBodies.ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                    throw _auth.Refused(repository, message);
                }
            }

            if ((response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500) && attempt < _options.MaxAttempts)
            {
                response.Dispose();
                await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
                continue;
            }

            return response;
        }
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var (code, message) = await HttpBodies.ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var text = string.Create(CultureInfo.InvariantCulture, $"{Registry} answered {status} for {what}{(code is null ? "" : $": {code}")}{(message is null ? "" : $" ({message})")}");
        throw response.StatusCode == HttpStatusCode.Forbidden
            ? new RegistryUnauthorizedException(text) { ErrorCode = code, StatusCode = status }
            : new RegistryClientException(text) { ErrorCode = code, StatusCode = status };
    }

    private static Task BackOffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << (attempt - 1))), cancellationToken);

    private static bool IsLoopback(string registry)
    {
        var host = registry.StartsWith('[') ? registry[1..registry.IndexOf(']', StringComparison.Ordinal)] : registry.Split(':')[0];
        return host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }
}
