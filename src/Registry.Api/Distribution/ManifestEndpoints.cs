using System.Buffers;
using Microsoft.Extensions.Primitives;
using Registry.Api.Webhooks;
using Registry.Core;
using Registry.Core.Manifests;
using Registry.Storage.Retention;
using Registry.Storage.Services;

namespace Registry.Api.Distribution;

/// <summary>GET, HEAD, PUT and DELETE of /v2/NAME/manifests/REFERENCE.</summary>
internal static class ManifestEndpoints
{
    public static async Task GetAsync(HttpContext context, DistributionRoute.Manifest route)
    {
        // Nothing can be stored under a reference that is not a valid tag, so reading one finds
        // nothing (404), as clients and the conformance suite expect, rather than TAG_INVALID.
        if (!ManifestReference.TryParse(route.Reference, out var reference, out var error, out var detail))
        {
            throw new RegistryException(error == ErrorCode.TagInvalid ? ErrorCode.ManifestUnknown : error, detail);
        }

        var manifests = context.RequestServices.GetRequiredService<ManifestService>();
        var manifest = await manifests.GetAsync(route.Name, reference, context.RequestAborted)
            ?? throw new RegistryException(ErrorCode.ManifestUnknown, $"{route.Name}:{route.Reference}");
        manifest = await NegotiateAsync(context, manifests, route.Name, manifest);

        var response = context.Response;
        response.ContentType = manifest.MediaType;
        response.ContentLength = manifest.Payload.Length;
        response.Headers["Docker-Content-Digest"] = manifest.Digest;
        response.Headers.ETag = $"\"{manifest.Digest}\"";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            // In memory only; written in batches later (retention policies keep what was pulled recently).
            context.RequestServices.GetRequiredService<PullRecorder>().Record(route.Name, manifest.Digest);
            context.RequestServices.GetRequiredService<WebhookPullEvents>().Add(route.Name, reference, manifest.Digest, manifest.MediaType, DistributionApi.Author(context).User);
            await response.Body.WriteAsync(manifest.Payload, context.RequestAborted);
        }
    }

    public static async Task PutAsync(HttpContext context, DistributionRoute.Manifest route)
    {
        var reference = ParseReference(route.Reference);
        var payload = await ReadPayloadAsync(context.Request, context.RequestAborted);
        var manifests = context.RequestServices.GetRequiredService<ManifestService>();
        var result = await manifests.PutAsync(route.Name, reference, payload, context.Request.ContentType, DistributionApi.Author(context), context.RequestAborted);

        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = $"/v2/{route.Name}/manifests/{result.Digest}";
        response.Headers["Docker-Content-Digest"] = result.Digest.ToString();
        if (result.Subject is { } subject)
        {
            response.Headers["OCI-Subject"] = subject.ToString();
        }

        response.ContentLength = 0;
    }

    public static async Task DeleteAsync(HttpContext context, DistributionRoute.Manifest route)
    {
        if (!DistributionApi.StorageOptions(context).DeleteEnabled)
        {
            throw new RegistryException(ErrorCode.Unsupported, "deletes are disabled on this registry");
        }

        var reference = ParseReference(route.Reference);
        var manifests = context.RequestServices.GetRequiredService<ManifestService>();
        if (!await manifests.DeleteAsync(route.Name, reference, DistributionApi.Author(context), context.RequestAborted))
        {
            throw new RegistryException(ErrorCode.ManifestUnknown, $"{route.Name}:{route.Reference}");
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }

    private static ManifestReference ParseReference(string value) =>
        ManifestReference.TryParse(value, out var reference, out var error, out var detail)
            ? reference
            : throw new RegistryException(error, detail);

    /// <summary>
    /// Serves the stored manifest if the client accepts its type. A client that takes Docker image
    /// manifests but not manifest lists gets the list's linux/amd64 image, as older Docker clients
    /// expect; any other mismatch is MANIFEST_UNKNOWN, since the client could not use what it would get.
    /// </summary>
    private static async Task<StoredManifest> NegotiateAsync(HttpContext context, ManifestService manifests, string repository, StoredManifest manifest)
    {
        var accept = context.Request.Headers.Accept;
        if (Accepts(accept, manifest.MediaType))
        {
            return manifest;
        }

        if (manifest.MediaType == MediaTypes.DockerManifestList && Accepts(accept, MediaTypes.DockerManifest))
        {
            var list = ManifestParser.Parse(manifest.Payload, manifest.MediaType);
            var amd64 = list.Manifests.FirstOrDefault(m => m.Platform is { Os: "linux", Architecture: "amd64" });
            if (amd64 is not null && await manifests.GetAsync(repository, ManifestReference.ForDigest(amd64.Digest), context.RequestAborted) is { } child)
            {
                return child;
            }
        }

        throw new RegistryException(ErrorCode.ManifestUnknown, $"the manifest is {manifest.MediaType}, which the Accept header does not include");
    }

    private static bool Accepts(StringValues accept, string mediaType)
    {
        if (StringValues.IsNullOrEmpty(accept))
        {
            return true;
        }

        foreach (var header in accept)
        {
            foreach (var item in (header ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var type = ManifestParser.NormalizeContentType(item);
                if (type is "*/*" or "application/*" || type == mediaType)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Reads the manifest body, refusing anything over the size limit without reading it all.</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadPayloadAsync(HttpRequest request, CancellationToken ct)
    {
        const int limit = ManifestParser.MaxManifestBytes;
        if (request.ContentLength > limit)
        {
            throw new RegistryException(ErrorCode.ManifestTooLarge, $"manifest is {request.ContentLength} bytes; the limit is {limit}");
        }

        var buffer = new ArrayBufferWriter<byte>((int)(request.ContentLength ?? 4096) + 1);
        while (true)
        {
            var memory = buffer.GetMemory(16 * 1024);
            var read = await request.Body.ReadAsync(memory, ct);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                throw new RegistryException(ErrorCode.ManifestTooLarge, $"manifest is larger than {limit} bytes");
            }
        }

        return buffer.WrittenMemory;
    }
}
