using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml.Linq;

namespace Registry.Storage.Blobs.S3;

/// <summary>An object as a listing or HEAD reports it.</summary>
internal sealed record S3Object(string Key, long Size, DateTime LastModified);

/// <summary>
/// The object requests of the S3 API that the blob store makes, signed with SigV4 and retried through
/// <see cref="S3Retry"/>. Bodies are streamed (never buffered here) and responses are read as streams. Error answers
/// become <see cref="S3Exception"/> with S3's code; XML is read by local names, so servers that answer in another
/// namespace (s3rver) are read alike.
/// </summary>
/// <remarks>
/// These requests are not made through the Minio SDK because its 7.0.0 release (the one available) cannot do them
/// reliably: a ranged GetObject throws PartialContentException on the 206 answer; CopyObject percent-encodes the
/// '/' of x-amz-copy-source; ListObjects finds nothing in a listing whose XML namespace differs; a 5xx answer to a
/// HEAD surfaces as a NullReferenceException, so transient errors cannot be told apart; and multipart upload
/// (UploadPart, UploadPartCopy) is not public API. Minio creates the bucket and presigns redirects.
/// </remarks>
internal sealed class S3Client(HttpClient http, S3Signer signer, Uri endpoint, string bucket, bool pathStyle, S3Retry retry, TimeProvider time)
{
    public S3Retry Retry => retry;

    public async Task<S3Object?> HeadAsync(string key, CancellationToken ct) =>
        await retry.RunAsync($"HEAD {key}", async token =>
        {
            using var response = await SendAsync(HttpMethod.Head, key, null, null, token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            await EnsureSuccessAsync(response, $"HEAD {key}", token);
            return new S3Object(key, response.Content.Headers.ContentLength ?? 0, response.Content.Headers.LastModified?.UtcDateTime ?? default);
        }, ct);

    /// <summary>
    /// HEAD of the bucket, once (no retry: a readiness probe reports how things stand now). Throws
    /// <see cref="S3Exception"/> on an error answer, including 404 for a bucket that is gone.
    /// </summary>
    public async Task HeadBucketAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Head, null, null, null, ct);
        await EnsureSuccessAsync(response, $"HEAD of bucket {bucket}", ct);
    }

    /// <summary>
    /// Opens the object from <paramref name="offset"/> to its end (one attempt: a reader resumes where it stopped
    /// instead). Null when there is no such object. The caller disposes the response.
    /// </summary>
    public async Task<HttpResponseMessage?> GetAsync(string key, long offset, CancellationToken ct)
    {
        var request = Request(HttpMethod.Get, key, null);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }

        var response = await SendAsync(request, ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Dispose();
            return null;
        }

        try
        {
            await EnsureSuccessAsync(response, $"GET {key}", ct);
            if (offset > 0 && response.StatusCode != HttpStatusCode.PartialContent)
            {
                throw new S3Exception($"GET {key} from byte {offset} was answered with {(int)response.StatusCode}, not 206: the server ignores Range");
            }

            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Writes an object whole. <paramref name="content"/> makes the body again for each attempt.</summary>
    public Task PutAsync(string key, Func<HttpContent> content, CancellationToken ct) =>
        retry.RunAsync($"PUT {key}", async token =>
        {
            using var body = content();
            using var response = await SendAsync(HttpMethod.Put, key, null, body, token);
            await EnsureSuccessAsync(response, $"PUT {key}", token);
        }, ct);

    /// <summary>A server-side copy (CopyObject): the bytes never pass through this process. Up to 5 GiB.</summary>
    public Task CopyAsync(string source, string target, CancellationToken ct) =>
        retry.RunAsync($"COPY {source} to {target}", async token =>
        {
            using var request = Request(HttpMethod.Put, target, null);
            request.Headers.TryAddWithoutValidation("x-amz-copy-source", CopySource(source));
            using var response = await SendAsync(request, token);
            await ReadResultAsync(response, $"COPY {source} to {target}", token);
        }, ct);

    public Task DeleteAsync(string key, CancellationToken ct) =>
        retry.RunAsync($"DELETE {key}", async token =>
        {
            using var response = await SendAsync(HttpMethod.Delete, key, null, null, token);
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                await EnsureSuccessAsync(response, $"DELETE {key}", token);
            }
        }, ct);

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, in key order (ListObjectsV2, page by page).</summary>
    public async IAsyncEnumerable<S3Object> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        string? continuation = null;
        do
        {
            var query = $"list-type=2&prefix={S3Signer.Encode(prefix)}"
                + (continuation is null ? string.Empty : $"&continuation-token={S3Signer.Encode(continuation)}");
            var page = await retry.RunAsync($"LIST {prefix}", async token =>
            {
                using var response = await SendAsync(HttpMethod.Get, null, query, null, token);
                return await ReadResultAsync(response, $"LIST {prefix}", token);
            }, ct);

            foreach (var item in Children(page.Root!, "Contents"))
            {
                yield return new S3Object(
                    Child(item, "Key") ?? string.Empty,
                    long.Parse(Child(item, "Size") ?? "0", CultureInfo.InvariantCulture),
                    DateTime.Parse(Child(item, "LastModified") ?? "0001-01-01T00:00:00Z", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));
            }

            continuation = Child(page.Root!, "IsTruncated") == "true" ? Child(page.Root!, "NextContinuationToken") : null;
        }
        while (continuation is not null);
    }

    public Task<string> CreateMultipartUploadAsync(string key, CancellationToken ct) =>
        retry.RunAsync($"CREATE MULTIPART {key}", async token =>
        {
            using var response = await SendAsync(HttpMethod.Post, key, "uploads=", null, token);
            var result = await ReadResultAsync(response, $"CREATE MULTIPART {key}", token);
            return Child(result.Root!, "UploadId") ?? throw new S3Exception($"CREATE MULTIPART {key}: no UploadId in the answer");
        }, ct);

    /// <summary>Uploads one part from <paramref name="content"/> (made again for each attempt) and returns its ETag.</summary>
    public Task<string> UploadPartAsync(string key, string uploadId, int partNumber, Func<HttpContent> content, CancellationToken ct) =>
        retry.RunAsync($"UPLOAD PART {partNumber} of {key}", async token =>
        {
            using var body = content();
            using var response = await SendAsync(HttpMethod.Put, key, PartQuery(uploadId, partNumber), body, token);
            await EnsureSuccessAsync(response, $"UPLOAD PART {partNumber} of {key}", token);
            return response.Headers.ETag?.Tag ?? throw new S3Exception($"UPLOAD PART {partNumber} of {key}: no ETag in the answer");
        }, ct);

    /// <summary>Makes one part of a multipart upload from a whole object, server-side (UploadPartCopy), and returns its ETag.</summary>
    public Task<string> UploadPartCopyAsync(string key, string uploadId, int partNumber, string source, CancellationToken ct) =>
        retry.RunAsync($"UPLOAD PART COPY {partNumber} of {key}", async token =>
        {
            using var request = Request(HttpMethod.Put, key, PartQuery(uploadId, partNumber));
            request.Headers.TryAddWithoutValidation("x-amz-copy-source", CopySource(source));
            using var response = await SendAsync(request, token);
            var result = await ReadResultAsync(response, $"UPLOAD PART COPY {partNumber} of {key}", token);
            return Child(result.Root!, "ETag") ?? throw new S3Exception($"UPLOAD PART COPY {partNumber} of {key}: no ETag in the answer");
        }, ct);

    public Task CompleteMultipartUploadAsync(string key, string uploadId, IReadOnlyList<string> etags, CancellationToken ct) =>
        retry.RunAsync($"COMPLETE MULTIPART {key}", async token =>
        {
            var xml = new XElement("CompleteMultipartUpload", etags.Select((etag, i) =>
                new XElement("Part", new XElement("PartNumber", i + 1), new XElement("ETag", etag))));
            using var body = new StringContent(xml.ToString(SaveOptions.DisableFormatting), Encoding.UTF8, "application/xml");
            using var response = await SendAsync(HttpMethod.Post, key, $"uploadId={S3Signer.Encode(uploadId)}", body, token);
            await ReadResultAsync(response, $"COMPLETE MULTIPART {key}", token);
        }, ct);

    public Task AbortMultipartUploadAsync(string key, string uploadId, CancellationToken ct) =>
        retry.RunAsync($"ABORT MULTIPART {key}", async token =>
        {
            using var response = await SendAsync(HttpMethod.Delete, key, $"uploadId={S3Signer.Encode(uploadId)}", null, token);
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                await EnsureSuccessAsync(response, $"ABORT MULTIPART {key}", token);
            }
        }, ct);

    /// <summary>The object's address: <c>ENDPOINT/BUCKET/KEY</c> (path style) or <c>BUCKET.HOST/KEY</c>.</summary>
    public Uri ObjectUri(string? key, string? query = null)
    {
        var path = key is null ? string.Empty : S3Signer.Encode(key, keepSlash: true);
        var builder = new UriBuilder(endpoint) { Query = query ?? string.Empty };
        if (pathStyle)
        {
            builder.Path = $"/{bucket}/{path}";
        }
        else
        {
            builder.Host = $"{bucket}.{endpoint.Host}";
            builder.Path = "/" + path;
        }

        return builder.Uri;
    }

    private static string PartQuery(string uploadId, int partNumber) =>
        $"partNumber={partNumber.ToString(CultureInfo.InvariantCulture)}&uploadId={S3Signer.Encode(uploadId)}";

    private string CopySource(string key) => $"/{bucket}/{S3Signer.Encode(key, keepSlash: true)}";

    private HttpRequestMessage Request(HttpMethod method, string? key, string? query) => new(method, ObjectUri(key, query));

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string? key, string? query, HttpContent? content, CancellationToken ct)
    {
        using var request = Request(method, key, query);
        request.Content = content;
        return await SendAsync(request, ct);
    }

    private Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        signer.Sign(request, time.GetUtcNow());
        return http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = response.RequestMessage?.Method == HttpMethod.Head ? string.Empty : await response.Content.ReadAsStringAsync(ct);
        throw Error(what, response.StatusCode, body);
    }

    /// <summary>The answer's XML; an &lt;Error&gt; document is an error even under 200 (S3 does that for copies and completions).</summary>
    private static async Task<XDocument> ReadResultAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        await EnsureSuccessAsync(response, what, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        var document = body.Length == 0 ? new XDocument(new XElement("Empty")) : XDocument.Parse(body);
        if (document.Root!.Name.LocalName == "Error")
        {
            throw Error(what, response.StatusCode, body);
        }

        return document;
    }

    private static S3Exception Error(string what, HttpStatusCode status, string body)
    {
        string? code = null, message = null;
        try
        {
            if (body.Length > 0 && XDocument.Parse(body).Root is { } root)
            {
                code = Child(root, "Code");
                message = Child(root, "Message");
            }
        }
        catch (System.Xml.XmlException)
        {
            // Not S3's error document (a proxy's page): the status says enough.
        }

        return new S3Exception($"{what}: {(int)status} {code ?? status.ToString()}{(message is null ? string.Empty : " - " + message)}", status, code);
    }

    private static IEnumerable<XElement> Children(XElement parent, string name) => parent.Elements().Where(e => e.Name.LocalName == name);

    private static string? Child(XElement parent, string name) => Children(parent, name).FirstOrDefault()?.Value;
}
