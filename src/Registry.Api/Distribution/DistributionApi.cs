using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Registry.Api.Access;
using Registry.Api.Auth;
using Registry.Api.Identity;
using Registry.Api.Observability;
using Registry.Core;
using Registry.Core.Access;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Api.Distribution;

/// <summary>
/// The OCI distribution API under /v2. One endpoint takes every /v2 request and does the shared
/// work once: parse the path into a typed route, validate the repository name, authorize, then
/// hand the route to a thin handler. Errors leave here in the spec's format.
/// </summary>
public static partial class DistributionApi
{
    public const string ApiVersionHeader = "Docker-Distribution-API-Version";

    public static IEndpointRouteBuilder MapDistributionApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/v2", context =>
        {
            // Routing ignores a trailing slash, so "/v2/" itself lands here too: that is the probe.
            if (context.Request.Path.Value?.EndsWith('/') == true)
            {
                return DispatchAsync(context);
            }

            // "/v2" without the slash: clients expect the probe to answer at "/v2/".
            context.Response.Redirect("/v2/", permanent: true);
            return Task.CompletedTask;
        });
        endpoints.Map("/v2/{**path}", DispatchAsync);
        return endpoints;
    }

    private static async Task DispatchAsync(HttpContext context)
    {
        context.Response.Headers[ApiVersionHeader] = "registry/2.0";
        var path = (string?)context.Request.RouteValues["path"] ?? string.Empty;
        var route = DistributionRoute.Parse(path);
        if (route is not null)
        {
            RouteLabel.Set(context, route.Template);
        }

        try
        {
            if (route is null)
            {
                throw new RegistryException(ErrorCode.RouteUnknown);
            }

            if (route.ValidateName() is { } nameError)
            {
                throw new RegistryException(ErrorCode.NameInvalid, nameError);
            }

            var (handler, access) = Resolve(route, context.Request.Method);
            if (handler is null)
            {
                throw new RegistryException(ErrorCode.Unsupported, $"{context.Request.Method} is not supported here");
            }

            await AuthorizeAsync(context, route, access);
            await handler(context, route);
        }
        catch (RegistryException e)
        {
            await FailAsync(context, e.Error, e.Detail);
        }
        catch (UploadRangeException e)
        {
            if (route is DistributionRoute.Upload upload)
            {
                UploadEndpoints.SetUploadHeaders(context, upload.Name, upload.Id, e.Offset);
            }

            await FailAsync(context, ErrorCode.RangeInvalid, e.Message);
        }
        catch (Exception e) when (e is BadHttpRequestException or OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-request; the handlers have already undone partial work.
            LogClientAborted(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DistributionApi)), context.Request.Method, path);
        }
        catch (BadHttpRequestException e)
        {
            await FailAsync(context, ErrorCode.BlobUploadInvalid with { Status = e.StatusCode }, e.Message);
        }
    }

    /// <summary>
    /// Authenticates the request's registry token and checks it grants the access the route needs. The probe
    /// (<c>/v2/</c>) needs any valid token, anonymous ones included.
    /// </summary>
    private static async Task AuthorizeAsync(HttpContext context, DistributionRoute route, AccessRequest? access)
    {
        var result = await context.RequestServices.GetRequiredService<ValidatedTokenCache>().AuthenticateAsync(context);
        if (result.Succeeded)
        {
            context.User = result.Principal;
        }
        else if (route is DistributionRoute.Upload upload)
        {
            // An upload session takes its owner's expired token; what the token's user may do now is checked below
            // as for any token.
            await UploadSessionAccess.ResumeAsync(context, upload);
        }

        if (access is null)
        {
            if (result.Succeeded)
            {
                return;
            }

            RegistryChallenge.Set(context, [], insufficientScope: false);
            throw new RegistryException(ErrorCode.Unauthorized);
        }

        var authorizer = context.RequestServices.GetRequiredService<IAccessAuthorizer>();
        var decision = await authorizer.AuthorizeAsync(context.User, access, context.RequestAborted);
        switch (decision)
        {
            case AccessDecision.Allowed:
                if (route is DistributionRoute.Upload session)
                {
                    await UploadSessionAccess.EnsureOwnerAsync(context, session);
                }

                return;
            case AccessDecision.Denied:
                throw new RegistryException(ErrorCode.Denied, $"{access.ToScope()}");
            default:
                RegistryChallenge.Set(context, ChallengeScopes(context, route, access), decision == AccessDecision.InsufficientScope);
                throw new RegistryException(ErrorCode.Unauthorized, $"{access.ToScope()}");
        }
    }

    /// <summary>The scopes to ask for: the route's, and for a mount the source repository's pull as well.</summary>
    private static List<AccessScope> ChallengeScopes(HttpContext context, DistributionRoute route, AccessRequest access)
    {
        var scopes = new List<AccessScope> { access.ToScope() };
        if (route is DistributionRoute.UploadStart
            && context.Request.Query.ContainsKey("mount")
            && context.Request.Query["from"].ToString() is { Length: > 0 } from
            && RepositoryName.IsValid(from)
            && from != access.Name)
        {
            scopes.Add(AccessScope.Repository(from, RegistryAction.Pull));
        }

        return scopes;
    }

    /// <summary>The token's user and the client's address, for changes audited with the change itself.</summary>
    internal static ChangeAuthor Author(HttpContext context) =>
        new(context.User.FindFirst(RegistryTokenAuthentication.SubjectClaimType)?.Value, AuditLog.ClientAddress(context));

    /// <summary>Records a change made through the distribution API, by the token's user.</summary>
    internal static Task AuditAsync(HttpContext context, string action, string target, string? detail) =>
        context.RequestServices.GetRequiredService<AuditLog>()
            .WriteAsync(action, context.User.FindFirst(RegistryTokenAuthentication.SubjectClaimType)?.Value, target, detail: detail);

    private static async Task FailAsync(HttpContext context, ErrorCode error, string? detail)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        await DistributionErrors.WriteAsync(context, error, detail);
    }

    private delegate Task Handler(HttpContext context, DistributionRoute route);

    /// <summary>The handler for a route and method, and the access it needs.</summary>
    private static (Handler? Handler, AccessRequest? Access) Resolve(DistributionRoute route, string method)
    {
        const RegistryAction pull = RegistryAction.Pull;
        const RegistryAction push = RegistryAction.Pull | RegistryAction.Push;
        var isRead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        return route switch
        {
            DistributionRoute.Base when isRead => ((c, _) => BaseAsync(c), null),
            DistributionRoute.Catalog when isRead => ((c, _) => ListingEndpoints.CatalogAsync(c), AccessRequest.Catalog()),
            DistributionRoute.Tags r when isRead => ((c, _) => ListingEndpoints.TagsAsync(c, r), AccessRequest.Repository(r.Name, pull)),
            DistributionRoute.Referrers r when isRead => ((c, _) => ListingEndpoints.ReferrersAsync(c, r), AccessRequest.Repository(r.Name, pull)),
            DistributionRoute.Manifest r when isRead => ((c, _) => ManifestEndpoints.GetAsync(c, r), AccessRequest.Repository(r.Name, pull)),
            DistributionRoute.Manifest r when HttpMethods.IsPut(method) => ((c, _) => ManifestEndpoints.PutAsync(c, r), AccessRequest.Repository(r.Name, push)),
            DistributionRoute.Manifest r when HttpMethods.IsDelete(method) => ((c, _) => ManifestEndpoints.DeleteAsync(c, r), AccessRequest.Repository(r.Name, RegistryAction.Delete)),
            DistributionRoute.Blob r when isRead => ((c, _) => BlobEndpoints.GetAsync(c, r), AccessRequest.Repository(r.Name, pull)),
            DistributionRoute.Blob r when HttpMethods.IsDelete(method) => ((c, _) => BlobEndpoints.DeleteAsync(c, r), AccessRequest.Repository(r.Name, RegistryAction.Delete)),
            DistributionRoute.UploadStart r when HttpMethods.IsPost(method) => ((c, _) => UploadEndpoints.StartAsync(c, r), AccessRequest.Repository(r.Name, push)),
            DistributionRoute.Upload r when HttpMethods.IsGet(method) => ((c, _) => UploadEndpoints.StatusAsync(c, r), AccessRequest.Repository(r.Name, push)),
            DistributionRoute.Upload r when HttpMethods.IsPatch(method) => ((c, _) => UploadEndpoints.PatchAsync(c, r), AccessRequest.Repository(r.Name, push)),
            DistributionRoute.Upload r when HttpMethods.IsPut(method) => ((c, _) => UploadEndpoints.PutAsync(c, r), AccessRequest.Repository(r.Name, push)),
            DistributionRoute.Upload r when HttpMethods.IsDelete(method) => ((c, _) => UploadEndpoints.CancelAsync(c, r), AccessRequest.Repository(r.Name, push)),
            _ => (null, null),
        };
    }

    private static Task BaseAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = 2;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.WriteAsync("{}", context.RequestAborted);
    }

    /// <summary>Parses a digest from a URL or query, answering DIGEST_INVALID for malformed or unsupported ones.</summary>
    internal static Digest ParseDigest(string? value)
    {
        if (!Digest.TryParse(value, out var digest, out var error))
        {
            throw new RegistryException(ErrorCode.DigestInvalid, error);
        }

        if (!digest.IsSupported)
        {
            throw new RegistryException(ErrorCode.DigestInvalid, $"unsupported digest algorithm '{digest.Algorithm}'");
        }

        return digest;
    }

    /// <summary>Upload routes take bodies of any size; everything else keeps the server's limit.</summary>
    internal static void AllowUnlimitedBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = null;
        }
    }

    internal static Storage.Services.RegistryStorageOptions StorageOptions(HttpContext context) =>
        context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Storage.Services.RegistryStorageOptions>>().Value;

    [LoggerMessage(Level = LogLevel.Information, Message = "Client closed the connection during {Method} /v2/{Path}")]
    private static partial void LogClientAborted(ILogger logger, string method, string path);
}
