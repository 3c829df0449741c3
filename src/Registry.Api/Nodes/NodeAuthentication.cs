using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Metadata;

namespace Registry.Api.Nodes;

/// <summary>The node a request of the agent API comes from.</summary>
public sealed record NodeIdentity(long Id, string Name);

/// <summary>
/// Authenticates the agent API (<c>/api/v1/node/…</c>): <c>Authorization: Bearer regnode_…</c>, checked against the
/// database on every request, so that removing a node ends its credential at once on every replica. Nothing else is
/// accepted here, and this credential is accepted nowhere else.
/// </summary>
public sealed class NodeAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "RegistryNode";

    private const string Required = "a node credential is required (Authorization: Bearer regnode_…)";
    private const string Unknown = "the node credential is not known to this registry (the node may have been removed; join it again)";

    private static readonly object NodeKey = new();
    private static readonly object FailureKey = new();

    public static NodeIdentity GetNode(HttpContext context) =>
        context.Items[NodeKey] as NodeIdentity ?? throw new InvalidOperationException("the request is not authenticated as a node");

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
            || header.Parameter is not { } presented)
        {
            return AuthenticateResult.NoResult();
        }

        if (!Secrets.TryGetLookupId(presented, Secrets.NodeCredentialPrefix, out var lookup))
        {
            return Fail(Required);
        }

        var db = Context.RequestServices.GetRequiredService<RegistryDbContext>();
        var node = await db.Nodes.AsNoTracking().Where(n => n.LookupId == lookup)
            .Select(n => new { n.Id, n.Name, n.CredentialHash }).FirstOrDefaultAsync(Context.RequestAborted);
        if (node is null || !Secrets.Matches(presented, node.CredentialHash))
        {
            return Fail(Unknown);
        }

        Context.Items[NodeKey] = new NodeIdentity(node.Id, node.Name);
        var identity = new ClaimsIdentity(SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, node.Name));
        identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, node.Id.ToString(CultureInfo.InvariantCulture)));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer realm=\"registry-node\"";
        return ApiErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, "UNAUTHORIZED", Context.Items[FailureKey] as string ?? Required);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.WriteAsync(Context, StatusCodes.Status403Forbidden, "DENIED", "you may not do this");

    private AuthenticateResult Fail(string message)
    {
        Context.Items[FailureKey] = message;
        return AuthenticateResult.Fail(message);
    }
}
