using Microsoft.Extensions.Options;
using Registry.Api.Distribution;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Services;

namespace Registry.Api.Auth;

/// <summary>
/// Keeps a long push alive across token expiry: a request on an upload session may use an expired (but genuine)
/// token when that token's user started the session, it granted push on the session's repository, and the
/// session is younger than <see cref="AuthOptions.UploadSessionLifetime"/>. The token then passes the same
/// authorization as a valid one, so a revoked credential or a removed permission ends the session's use too.
/// </summary>
internal static class UploadSessionAccess
{
    /// <summary>Makes the request's expired token its user when the session may take it; otherwise leaves the request unauthenticated.</summary>
    public static async Task ResumeAsync(HttpContext context, DistributionRoute.Upload upload)
    {
        var principal = RegistryTokenAuthentication.ExpiredPrincipal(context);
        var user = principal?.FindFirst(RegistryTokenAuthentication.SubjectClaimType)?.Value;
        if (principal is null || user is null)
        {
            return;
        }

        var grantsPush = RegistryTokenAuthentication.Grants(principal)
            .Any(g => g.Type == Core.Access.AccessScope.RepositoryType && g.Name == upload.Name && g.RepositoryActions.HasFlag(RegistryAction.Push));
        if (!grantsPush)
        {
            return;
        }

        var session = await context.RequestServices.GetRequiredService<UploadService>().FindSessionAsync(upload.Id, context.RequestAborted);
        var lifetime = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.UploadSessionLifetime;
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
        if (session is not null && session.Repository == upload.Name && session.Owner == user && now - session.CreatedAt <= lifetime)
        {
            context.User = principal;
        }
    }

    /// <summary>
    /// Refuses a new upload session when the user already has <see cref="AuthOptions.MaxUploadSessionsPerUser"/> open,
    /// so one account cannot pile up staged uploads. Concurrent starts may pass the bound by as many as run at once.
    /// </summary>
    public static async Task EnsureRoomAsync(HttpContext context, string owner)
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.MaxUploadSessionsPerUser;
        var open = await context.RequestServices.GetRequiredService<UploadService>().CountOwnedAsync(owner, context.RequestAborted);
        if (open >= limit)
        {
            throw new RegistryException(
                ErrorCode.TooManyRequests with { Message = "too many open upload sessions" },
                $"a user may have at most {limit} open upload sessions; finish or cancel (DELETE) some, or wait for them to expire");
        }
    }

    /// <summary>
    /// An upload session belongs to the user who started it: anyone else, even with push on the repository, is
    /// told it does not exist.
    /// </summary>
    public static async Task EnsureOwnerAsync(HttpContext context, DistributionRoute.Upload upload)
    {
        var session = await context.RequestServices.GetRequiredService<UploadService>().FindSessionAsync(upload.Id, context.RequestAborted);
        var user = context.User.FindFirst(RegistryTokenAuthentication.SubjectClaimType)?.Value;
        if (session?.Owner is { } owner && owner != user)
        {
            throw new RegistryException(ErrorCode.BlobUploadUnknown);
        }
    }
}
