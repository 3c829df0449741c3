using Registry.Core;

namespace Registry.Api.Distribution;

/// <summary>A /v2 request path, parsed. Repository names may contain slashes, so the path is
/// matched from its end: the last <c>/manifests/</c>, <c>/blobs/</c>, … segment decides.</summary>
public abstract record DistributionRoute
{
    /// <summary>The repository the route addresses, or null for registry-wide routes.</summary>
    public virtual string? Repository => null;

    /// <summary>The route's template, the same for every repository and reference (a metrics label).</summary>
    public abstract string Template { get; }

    /// <summary>GET /v2/</summary>
    public sealed record Base : DistributionRoute
    {
        public override string Template => "/v2/";
    }

    /// <summary>GET /v2/_catalog</summary>
    public sealed record Catalog : DistributionRoute
    {
        public override string Template => "/v2/_catalog";
    }

    /// <summary>GET /v2/NAME/tags/list</summary>
    public sealed record Tags(string Name) : DistributionRoute
    {
        public override string Repository => Name;

        public override string Template => "/v2/{name}/tags/list";
    }

    /// <summary>/v2/NAME/manifests/REFERENCE (tag or digest, validated by the handler).</summary>
    public sealed record Manifest(string Name, string Reference) : DistributionRoute
    {
        public override string Repository => Name;

        public override string Template => "/v2/{name}/manifests/{reference}";
    }

    /// <summary>/v2/NAME/blobs/DIGEST</summary>
    public sealed record Blob(string Name, string Digest) : DistributionRoute
    {
        public override string Repository => Name;

        public override string Template => "/v2/{name}/blobs/{digest}";
    }

    /// <summary>POST /v2/NAME/blobs/uploads/</summary>
    public sealed record UploadStart(string Name) : DistributionRoute
    {
        public override string Repository => Name;

        public override string Template => "/v2/{name}/blobs/uploads/";
    }

    /// <summary>/v2/NAME/blobs/uploads/ID</summary>
    public sealed record Upload(string Name, string Id) : DistributionRoute
    {
        public override string Repository => Name;

        public override string Template => "/v2/{name}/blobs/uploads/{uuid}";
    }

    /// <summary>GET /v2/NAME/referrers/DIGEST</summary>
    public sealed record Referrers(string Name, string Digest) : DistributionRoute
    {
        public override string Repository => Name;

        public override string Template => "/v2/{name}/referrers/{digest}";
    }

    /// <summary>Parses the part of the path after <c>/v2/</c>.</summary>
    /// <returns>The route, or null when the path names no endpoint.</returns>
    public static DistributionRoute? Parse(string path)
    {
        if (path.Length == 0)
        {
            return new Base();
        }

        if (path is "_catalog" or "_catalog/")
        {
            return new Catalog();
        }

        if (path.EndsWith("/tags/list", StringComparison.Ordinal))
        {
            return new Tags(path[..^"/tags/list".Length]);
        }

        if (path.EndsWith("/blobs/uploads", StringComparison.Ordinal) || path.EndsWith("/blobs/uploads/", StringComparison.Ordinal))
        {
            return new UploadStart(path[..path.LastIndexOf("/blobs/uploads", StringComparison.Ordinal)]);
        }

        if (SplitLast(path, "/blobs/uploads/") is var (uploadName, id))
        {
            return new Upload(uploadName, id);
        }

        if (SplitLast(path, "/manifests/") is var (manifestName, reference))
        {
            return new Manifest(manifestName, reference);
        }

        if (SplitLast(path, "/blobs/") is var (blobName, digest))
        {
            return new Blob(blobName, digest);
        }

        if (SplitLast(path, "/referrers/") is var (referrersName, subject))
        {
            return new Referrers(referrersName, subject);
        }

        return null;
    }

    /// <summary>"a/b/manifests/x" with "/manifests/" → ("a/b", "x"), when x is one non-empty segment.</summary>
    private static (string Name, string Last)? SplitLast(string path, string marker)
    {
        var at = path.LastIndexOf(marker, StringComparison.Ordinal);
        if (at <= 0)
        {
            return null;
        }

        var last = path[(at + marker.Length)..];
        return last.Length == 0 || last.Contains('/', StringComparison.Ordinal) ? null : (path[..at], last);
    }

    /// <summary>Why the repository name is invalid, or null.</summary>
    public string? ValidateName() => Repository is { } name ? RepositoryName.Validate(name) : null;
}
