using Registry.Core;
using Registry.Core.Manifests;

namespace Registry.Node.Client;

/// <summary>A registry answered something a pull cannot go on with; the message says what and where.</summary>
public class RegistryClientException : Exception
{
    public RegistryClientException()
    {
    }

    public RegistryClientException(string message)
        : base(message)
    {
    }

    public RegistryClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The distribution error code the registry sent (MANIFEST_UNKNOWN, DENIED, …), if any.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>The HTTP status of the answer, if the failure came from one.</summary>
    public int? StatusCode { get; init; }
}

/// <summary>The registry has no such repository, tag or digest (MANIFEST_UNKNOWN, NAME_UNKNOWN or a bare 404).</summary>
public sealed class ImageNotFoundException : RegistryClientException
{
    public ImageNotFoundException(ImageReference reference, string? detail)
        : base($"image {reference} not found{(string.IsNullOrEmpty(detail) ? "" : ": " + detail)}")
    {
        Reference = reference;
    }

    public ImageReference Reference { get; }
}

/// <summary>An image index has no manifest for the requested platform.</summary>
public sealed class PlatformNotFoundException : RegistryClientException
{
    public PlatformNotFoundException(ImageReference reference, Platform requested, IReadOnlyList<Platform> available)
        : base($"image {reference} has no manifest for platform {requested}; available: "
            + (available.Count == 0 ? "none" : string.Join(", ", available)))
    {
        Reference = reference;
        Requested = requested;
        Available = available;
    }

    public ImageReference Reference { get; }

    public Platform Requested { get; }

    public IReadOnlyList<Platform> Available { get; }
}

/// <summary>The registry refused our credentials, or wanted some and we had none.</summary>
public sealed class RegistryUnauthorizedException : RegistryClientException
{
    public RegistryUnauthorizedException(string message)
        : base(message)
    {
    }
}

/// <summary>Content whose digest or size is not what was asked for: never stored, never used.</summary>
public sealed class DigestMismatchException : RegistryClientException
{
    public DigestMismatchException(string what, Digest expected, string actual)
        : base($"{what}: digest mismatch: expected {expected}, got {actual}")
    {
        Expected = expected;
        Actual = actual;
    }

    public Digest Expected { get; }

    /// <summary>The digest computed over what arrived, or a description of the size that arrived.</summary>
    public string Actual { get; }
}
