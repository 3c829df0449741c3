namespace Registry.Core;

/// <summary>
/// One entry of the distribution API's error catalog: the code clients switch on, the HTTP status
/// it travels with, and a default message. Every /v2 error goes through this catalog.
/// </summary>
public sealed record ErrorCode(string Code, int Status, string Message)
{
    public static readonly ErrorCode BlobUnknown = new("BLOB_UNKNOWN", 404, "blob unknown to registry");
    public static readonly ErrorCode BlobUploadInvalid = new("BLOB_UPLOAD_INVALID", 400, "blob upload invalid");
    public static readonly ErrorCode BlobUploadUnknown = new("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry");
    public static readonly ErrorCode DigestInvalid = new("DIGEST_INVALID", 400, "provided digest did not match uploaded content");
    public static readonly ErrorCode ManifestBlobUnknown = new("MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob or manifest unknown to the repository");
    public static readonly ErrorCode ManifestInvalid = new("MANIFEST_INVALID", 400, "manifest invalid");
    public static readonly ErrorCode ManifestTooLarge = new("MANIFEST_INVALID", 413, "manifest is larger than the registry accepts");
    public static readonly ErrorCode ManifestUnknown = new("MANIFEST_UNKNOWN", 404, "manifest unknown");
    public static readonly ErrorCode NameInvalid = new("NAME_INVALID", 400, "invalid repository name");
    public static readonly ErrorCode NameUnknown = new("NAME_UNKNOWN", 404, "repository name not known to registry");
    public static readonly ErrorCode SizeInvalid = new("SIZE_INVALID", 400, "provided length did not match content length");
    public static readonly ErrorCode TagInvalid = new("TAG_INVALID", 400, "manifest tag is invalid");
    public static readonly ErrorCode Unauthorized = new("UNAUTHORIZED", 401, "authentication required");
    public static readonly ErrorCode Denied = new("DENIED", 403, "requested access to the resource is denied");

    /// <summary>A delete that would leave an index or a manifest pointing at nothing (409, with the spec's DENIED code).</summary>
    public static readonly ErrorCode StillReferenced = new("DENIED", 409, "the content is still referenced");
    public static readonly ErrorCode Unsupported = new("UNSUPPORTED", 405, "the operation is unsupported");
    public static readonly ErrorCode RouteUnknown = new("UNSUPPORTED", 404, "no such endpoint");
    public static readonly ErrorCode RangeInvalid = new("RANGE_INVALID", 416, "invalid content range");
    public static readonly ErrorCode PaginationNumberInvalid = new("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested");
    public static readonly ErrorCode TooManyRequests = new("TOOMANYREQUESTS", 429, "too many requests");
    public static readonly ErrorCode Unavailable = new("UNAVAILABLE", 503, "service unavailable");
}

/// <summary>An expected failure of a registry operation, answered with its catalog entry.</summary>
public sealed class RegistryException : Exception
{
    public RegistryException(ErrorCode error, string? detail = null)
        : base(detail is null ? error.Message : $"{error.Message}: {detail}")
    {
        Error = error;
        Detail = detail;
    }

    public RegistryException()
        : this(ErrorCode.Unavailable)
    {
    }

    public RegistryException(string message)
        : this(ErrorCode.Unavailable, message)
    {
    }

    public RegistryException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = ErrorCode.Unavailable;
        Detail = message;
    }

    public ErrorCode Error { get; }

    public string? Detail { get; }
}
