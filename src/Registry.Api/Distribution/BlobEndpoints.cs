using Microsoft.Net.Http.Headers;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Api.Distribution;

/// <summary>GET, HEAD and DELETE of /v2/NAME/blobs/DIGEST.</summary>
internal static class BlobEndpoints
{
    public static async Task GetAsync(HttpContext context, DistributionRoute.Blob route)
    {
        var digest = DistributionApi.ParseDigest(route.Digest);
        var blobs = context.RequestServices.GetRequiredService<BlobService>();
        var response = context.Response;

        if (HttpMethods.IsHead(context.Request.Method))
        {
            var size = await blobs.StatAsync(route.Name, digest, context.RequestAborted)
                ?? throw new RegistryException(ErrorCode.BlobUnknown);
            SetHeaders(response, digest);
            response.ContentLength = size;
            return;
        }

        var content = await blobs.OpenAsync(route.Name, digest, context.RequestAborted)
            ?? throw new RegistryException(ErrorCode.BlobUnknown);
        SetHeaders(response, digest);
        switch (content)
        {
            case BlobContent.Redirect redirect:
                response.StatusCode = StatusCodes.Status307TemporaryRedirect;
                response.Headers.Location = redirect.Location.ToString();
                break;
            case BlobContent.LocalFile file:
                await LocalFileSender.SendAsync(context, file.Path, file.Size, ETag(digest).ToString());
                break;
            case BlobContent.Content stream:
                await using (stream.Stream)
                {
                    await Results.Stream(stream.Stream, MediaTypes.OctetStream, enableRangeProcessing: stream.Stream.CanSeek, entityTag: ETag(digest))
                        .ExecuteAsync(context);
                }

                break;
        }
    }

    public static async Task DeleteAsync(HttpContext context, DistributionRoute.Blob route)
    {
        if (!DistributionApi.StorageOptions(context).DeleteEnabled)
        {
            throw new RegistryException(ErrorCode.Unsupported, "deletes are disabled on this registry");
        }

        var digest = DistributionApi.ParseDigest(route.Digest);
        var blobs = context.RequestServices.GetRequiredService<BlobService>();
        if (!await blobs.DeleteAsync(route.Name, digest, context.RequestAborted))
        {
            throw new RegistryException(ErrorCode.BlobUnknown);
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
        await DistributionApi.AuditAsync(context, AuditActions.BlobDelete, $"{route.Name}@{digest}", null);
    }

    private static void SetHeaders(HttpResponse response, Digest digest)
    {
        response.Headers["Docker-Content-Digest"] = digest.ToString();
        response.Headers.AcceptRanges = "bytes";
        response.Headers.CacheControl = "max-age=31536000";
        response.ContentType = MediaTypes.OctetStream;
        response.Headers.ETag = ETag(digest).ToString();
    }

    private static EntityTagHeaderValue ETag(Digest digest) => new($"\"{digest}\"");
}
