using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Registry.Api.Access;
using Registry.Api.Auth;
using Registry.Core;
using Registry.Storage.Services;

namespace Registry.Api.Distribution;

/// <summary>Blob uploads: POST to start (or to upload whole, or to mount), PATCH chunks, PUT to finish.</summary>
internal static class UploadEndpoints
{
    public static async Task StartAsync(HttpContext context, DistributionRoute.UploadStart route)
    {
        var query = context.Request.Query;
        var ct = context.RequestAborted;

        if (query.TryGetValue("mount", out var mount) && await TryMountAsync(context, route.Name, mount.ToString(), query["from"].ToString()) is { } mounted)
        {
            Created(context, route.Name, mounted);
            return;
        }

        var uploads = context.RequestServices.GetRequiredService<UploadService>();
        if (query.TryGetValue("digest", out var digestValue))
        {
            var digest = DistributionApi.ParseDigest(digestValue);
            DistributionApi.AllowUnlimitedBody(context);
            await uploads.UploadWholeAsync(route.Name, digest, context.Request.BodyReader, context.Request.ContentLength, ct);
            Created(context, route.Name, digest);
            return;
        }

        var owner = context.User.FindFirst("sub")?.Value;
        if (owner is not null)
        {
            await UploadSessionAccess.EnsureRoomAsync(context, owner);
        }

        var status = await uploads.StartAsync(route.Name, owner, ct);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        SetUploadHeaders(context, route.Name, status.Id, status.Offset);
    }

    public static async Task StatusAsync(HttpContext context, DistributionRoute.Upload route)
    {
        var uploads = context.RequestServices.GetRequiredService<UploadService>();
        var status = await uploads.GetStatusAsync(route.Name, route.Id, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        SetUploadHeaders(context, route.Name, status.Id, status.Offset);
    }

    public static async Task PatchAsync(HttpContext context, DistributionRoute.Upload route)
    {
        DistributionApi.AllowUnlimitedBody(context);
        var range = ParseContentRange(context.Request.Headers.ContentRange.ToString());
        var uploads = context.RequestServices.GetRequiredService<UploadService>();
        var status = await uploads.AppendAsync(route.Name, route.Id, context.Request.BodyReader, range, context.Request.ContentLength, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        SetUploadHeaders(context, route.Name, status.Id, status.Offset);
    }

    public static async Task PutAsync(HttpContext context, DistributionRoute.Upload route)
    {
        DistributionApi.AllowUnlimitedBody(context);
        var digest = DistributionApi.ParseDigest(context.Request.Query["digest"].ToString() is { Length: > 0 } d ? d : null);
        var range = ParseContentRange(context.Request.Headers.ContentRange.ToString());
        var body = HasBody(context) ? context.Request.BodyReader : null;
        var uploads = context.RequestServices.GetRequiredService<UploadService>();
        await uploads.CompleteAsync(route.Name, route.Id, digest, body, range, context.Request.ContentLength, context.RequestAborted);
        Created(context, route.Name, digest);
    }

    public static async Task CancelAsync(HttpContext context, DistributionRoute.Upload route)
    {
        var uploads = context.RequestServices.GetRequiredService<UploadService>();
        await uploads.CancelAsync(route.Name, route.Id, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        context.Response.ContentLength = 0;
    }

    /// <summary>
    /// Mounts a blob from another repository when the caller may pull from it and it has the blob.
    /// Otherwise returns null and the caller gets an ordinary upload session: a failed mount must not
    /// tell whether the blob exists somewhere the caller cannot see.
    /// </summary>
    private static async Task<Digest?> TryMountAsync(HttpContext context, string target, string mount, string from)
    {
        if (!Digest.TryParse(mount, out var digest, out _) || !digest.IsSupported || !RepositoryName.IsValid(from))
        {
            return null;
        }

        var authorizer = context.RequestServices.GetRequiredService<IAccessAuthorizer>();
        var decision = await authorizer.AuthorizeAsync(context.User, AccessRequest.Repository(from, RegistryAction.Pull), context.RequestAborted);
        if (decision != AccessDecision.Allowed)
        {
            return null;
        }

        var blobs = context.RequestServices.GetRequiredService<BlobService>();
        return await blobs.MountAsync(target, from, digest, context.RequestAborted) ? digest : null;
    }

    internal static void SetUploadHeaders(HttpContext context, string repository, string id, long offset)
    {
        var headers = context.Response.Headers;
        headers.Location = $"/v2/{repository}/blobs/uploads/{id}";
        headers["Docker-Upload-UUID"] = id;
        // Inclusive end of what is stored; "0-0" for an empty upload, as clients expect.
        headers.Range = string.Create(CultureInfo.InvariantCulture, $"0-{Math.Max(offset - 1, 0)}");
        context.Response.ContentLength = 0;
    }

    private static void Created(HttpContext context, string repository, Digest digest)
    {
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = $"/v2/{repository}/blobs/{digest}";
        context.Response.Headers["Docker-Content-Digest"] = digest.ToString();
        context.Response.ContentLength = 0;
    }

    private static bool HasBody(HttpContext context) =>
        context.Request.ContentLength is > 0
        || (context.Request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true);

    /// <summary>Parses "start-end" (the spec's form), also "bytes start-end[/total]" and "bytes=start-end".</summary>
    internal static ChunkRange? ParseContentRange(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.Trim();
        if (text.StartsWith("bytes", StringComparison.OrdinalIgnoreCase))
        {
            text = text[5..].TrimStart(' ', '=');
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !long.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var end)
            || end < start)
        {
            throw new RegistryException(ErrorCode.RangeInvalid, $"Content-Range '{value}' is not of the form start-end");
        }

        return new ChunkRange(start, end);
    }
}
