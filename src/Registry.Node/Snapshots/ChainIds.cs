using System.Text;
using Registry.Core;

namespace Registry.Node.Snapshots;

/// <summary>
/// Chain ids as the OCI image spec defines them: ChainID(L0) = DiffID(L0),
/// ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). A chain id names a layer together
/// with every layer below it, so two images share a snapshot only when they share the whole stack.
/// </summary>
public static class ChainIds
{
    /// <summary>The chain id of every prefix of <paramref name="diffIds"/>, bottom layer first.</summary>
    public static IReadOnlyList<Digest> Compute(IReadOnlyList<Digest> diffIds)
    {
        ArgumentNullException.ThrowIfNull(diffIds);
        var chain = new List<Digest>(diffIds.Count);
        foreach (var diffId in diffIds)
        {
            chain.Add(chain.Count == 0 ? diffId : Next(chain[^1], diffId));
        }

        return chain;
    }

    public static Digest Next(Digest parent, Digest diffId)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(diffId);
        return Digest.ComputeSha256(Encoding.UTF8.GetBytes($"{parent} {diffId}"));
    }
}
