using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Registry.Storage.Blobs.S3;

/// <summary>
/// Bound from <c>Registry:Storage:S3</c> when <c>Registry:Storage:Provider</c> is <c>S3</c>. The secret key is only ever
/// used to sign requests: no message, log line or validation error contains it.
/// </summary>
public sealed partial class S3BlobStoreOptions : IValidatableObject
{
    public const string Section = "Registry:Storage:S3";

    /// <summary>S3's smallest part of a multipart upload (except the last).</summary>
    public const int MinimumPartSize = 5 * 1024 * 1024;

    /// <summary>The S3 API's address with its scheme: <c>https://s3.eu-west-1.amazonaws.com</c>, <c>http://minio:9000</c>.</summary>
    [Required]
    public string? Endpoint { get; set; }

    [Required]
    public string? Bucket { get; set; }

    [Required]
    public string? AccessKey { get; set; }

    [Required]
    public string? SecretKey { get; set; }

    /// <summary>The region requests are signed for (MinIO and most S3-compatible servers accept the default).</summary>
    [Required]
    public string Region { get; set; } = "us-east-1";

    /// <summary>Addresses objects as <c>ENDPOINT/BUCKET/KEY</c> (true) or <c>BUCKET.ENDPOINT/KEY</c> (false).</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Answers blob GETs with a 307 to a presigned URL of the object instead of streaming it.</summary>
    public bool Redirect { get; set; }

    /// <summary>
    /// The address clients reach the S3 service at, when it is not <see cref="Endpoint"/> (e.g. the registry talks to
    /// <c>http://minio:9000</c> inside a cluster, clients to <c>https://s3.example.com</c>). Presigned URLs are signed
    /// for this host: SigV4 signs the Host header, so a URL cannot be rewritten to another host afterwards.
    /// </summary>
    public string? PublicEndpoint { get; set; }

    /// <summary>How long a presigned redirect stays valid.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan RedirectExpiry { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>
    /// Bytes of an upload held in memory before they are written as one staged object; each upload being written
    /// holds at most two such buffers. At least S3's 5 MiB multipart minimum, so that commit can copy staged objects
    /// server-side.
    /// </summary>
    [Range(MinimumPartSize, 1024 * 1024 * 1024)]
    public int PartSize { get; set; } = 8 * 1024 * 1024;

    /// <summary>How many times one S3 request is tried before its error is reported (transient errors only).</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How long one attempt of one request may take.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Endpoint is not null && ParseEndpoint(Endpoint) is null)
        {
            yield return new ValidationResult(
                "must be an http:// or https:// URL without a path, query or credentials (e.g. https://s3.amazonaws.com)", [nameof(Endpoint)]);
        }

        if (PublicEndpoint is { Length: > 0 } && ParseEndpoint(PublicEndpoint) is null)
        {
            yield return new ValidationResult("must be an http:// or https:// URL without a path, query or credentials", [nameof(PublicEndpoint)]);
        }

        if (Bucket is not null && !BucketName().IsMatch(Bucket))
        {
            yield return new ValidationResult(
                "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit", [nameof(Bucket)]);
        }

        if (Region is not null && !RegionName().IsMatch(Region))
        {
            yield return new ValidationResult("must be a region name such as us-east-1", [nameof(Region)]);
        }
    }

    /// <summary>The endpoint as a URI, or null when it is not an absolute http(s) URL with nothing but a host and port.</summary>
    public static Uri? ParseEndpoint(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0
            ? uri
            : null;

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();

    [GeneratedRegex("^[a-z0-9-]{1,64}$")]
    private static partial Regex RegionName();
}
