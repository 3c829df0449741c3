using Microsoft.EntityFrameworkCore;
using Registry.Api.Access;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Api.Nodes;

/// <summary>
/// What a node's pull token allows now: its credential stands while the node (the same one: name and id) exists,
/// and it may pull a repository only while a container of that repository is placed on the node. Never push,
/// never delete, never the catalog.
/// </summary>
public sealed class NodePullAccess(RegistryDbContext db)
{
    public async Task<CurrentAccess> LoadAsync(TokenSubject subject, AccessRequest request, CancellationToken ct)
    {
        var nodeId = subject.NodeId!.Value;
        var name = subject.Name.StartsWith(TokenIssuer.NodeSubjectPrefix, StringComparison.Ordinal)
            ? subject.Name[TokenIssuer.NodeSubjectPrefix.Length..]
            : null;
        if (name is null || !await db.Nodes.AnyAsync(n => n.Id == nodeId && n.Name == name, ct))
        {
            return CurrentAccess.Revoked;
        }

        var repository = request.Name;
        var runs = !request.IsCatalog && await db.NodeContainers.AnyAsync(c => c.NodeId == nodeId && c.Repository == repository, ct);
        return new CurrentAccess(CredentialValid: true, runs ? RegistryAction.Pull : RegistryAction.None);
    }
}
