using System.Globalization;
using System.Text.Json;
using Registry.Core;
using Registry.Storage.Services;

namespace Registry.Api.Distribution;

/// <summary>Tag lists, the catalog and the referrers API.</summary>
internal static class ListingEndpoints
{
    /// <summary>Catalog pages are capped so one request cannot list 10,000 repositories at once.</summary>
    private const int MaxCatalogPage = 1000;

    public static async Task TagsAsync(HttpContext context, DistributionRoute.Tags route)
    {
        var (limit, last) = ParsePaging(context.Request);
        var manifests = context.RequestServices.GetRequiredService<ManifestService>();
        // One more than asked tells whether a next page exists; n = int.MaxValue must not overflow
        // into a negative LIMIT, which PostgreSQL refuses.
        var tags = await manifests.ListTagsAsync(route.Name, limit < int.MaxValue ? limit + 1 : limit, last, context.RequestAborted)
            ?? throw new RegistryException(ErrorCode.NameUnknown, route.Name);
        var page = limit is { } n && tags.Count > n ? tags.Take(n).ToList() : tags;
        if (page.Count < tags.Count && page.Count > 0)
        {
            SetNextLink(context, $"/v2/{route.Name}/tags/list", limit!.Value, page[^1]);
        }

        await WriteJsonAsync(context, "application/json", json =>
        {
            json.WriteString("name", route.Name);
            json.WriteStartArray("tags");
            foreach (var tag in page)
            {
                json.WriteStringValue(tag);
            }

            json.WriteEndArray();
        });
    }

    public static async Task CatalogAsync(HttpContext context)
    {
        var (requested, last) = ParsePaging(context.Request);
        var limit = Math.Min(requested ?? 100, MaxCatalogPage);
        var manifests = context.RequestServices.GetRequiredService<ManifestService>();
        var names = await manifests.CatalogAsync(limit + 1, last, context.RequestAborted);
        var page = names.Count > limit ? names.Take(limit).ToList() : names;
        if (page.Count < names.Count && page.Count > 0)
        {
            SetNextLink(context, "/v2/_catalog", limit, page[^1]);
        }

        await WriteJsonAsync(context, "application/json", json =>
        {
            json.WriteStartArray("repositories");
            foreach (var name in page)
            {
                json.WriteStringValue(name);
            }

            json.WriteEndArray();
        });
    }

    public static async Task ReferrersAsync(HttpContext context, DistributionRoute.Referrers route)
    {
        var subject = DistributionApi.ParseDigest(route.Digest);
        var artifactType = context.Request.Query["artifactType"].ToString() is { Length: > 0 } t ? t : null;
        var manifests = context.RequestServices.GetRequiredService<ManifestService>();
        var referrers = await manifests.ReferrersAsync(route.Name, subject, artifactType, context.RequestAborted);
        if (artifactType is not null)
        {
            context.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        }

        await WriteJsonAsync(context, MediaTypes.OciIndex, json =>
        {
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaTypes.OciIndex);
            json.WriteStartArray("manifests");
            foreach (var referrer in referrers)
            {
                json.WriteStartObject();
                json.WriteString("mediaType", referrer.MediaType);
                json.WriteString("digest", referrer.Digest);
                json.WriteNumber("size", referrer.Size);
                if (referrer.ArtifactType is not null)
                {
                    json.WriteString("artifactType", referrer.ArtifactType);
                }

                if (referrer.AnnotationsJson is not null)
                {
                    json.WritePropertyName("annotations");
                    json.WriteRawValue(referrer.AnnotationsJson, skipInputValidation: true);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        });
    }

    private static (int? Limit, string? Last) ParsePaging(HttpRequest request)
    {
        int? limit = null;
        if (request.Query.TryGetValue("n", out var n) && n.ToString().Length > 0)
        {
            if (!int.TryParse(n.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw new RegistryException(ErrorCode.PaginationNumberInvalid, "n must be a non-negative integer");
            }

            limit = parsed;
        }

        var last = request.Query["last"].ToString();
        return (limit, last.Length > 0 ? last : null);
    }

    private static void SetNextLink(HttpContext context, string path, int limit, string last) =>
        context.Response.Headers.Link =
            $"<{path}?last={Uri.EscapeDataString(last)}&n={limit.ToString(CultureInfo.InvariantCulture)}>; rel=\"next\"";

    private static async Task WriteJsonAsync(HttpContext context, string contentType, Action<Utf8JsonWriter> writeBody)
    {
        context.Response.ContentType = contentType;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        await using var json = new Utf8JsonWriter(context.Response.BodyWriter);
        json.WriteStartObject();
        writeBody(json);
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
