using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Api.Identity;

/// <summary>
/// Bearer secrets the registry hands out: personal access tokens, refresh tokens, node join tokens and node credentials. A secret reads
/// <c>PREFIX</c> + a 12-character lookup id + 32 random characters. The prefix makes a leaked token
/// recognizable (secret scanners, logs); the lookup id finds its row; only a SHA-256 of the whole secret is
/// stored. The secrets are random, not chosen by people, so a fast hash is enough; comparison is constant-time.
/// </summary>
public static class Secrets
{
    public const string AccessTokenPrefix = "regpat_";
    public const string RefreshTokenPrefix = "regrt_";
    public const string JoinTokenPrefix = "regjoin_";
    public const string NodeCredentialPrefix = "regnode_";

    /// <summary>Whether a presented secret is a node's credential or join token, which are no login anywhere but the node API.</summary>
    public static bool IsNodeSecret(string presented) =>
        presented.StartsWith(NodeCredentialPrefix, StringComparison.Ordinal) || presented.StartsWith(JoinTokenPrefix, StringComparison.Ordinal);

    private const int LookupLength = 12;
    private const int SecretLength = 32;

    public static (string Secret, string LookupId, byte[] Hash) Create(string prefix)
    {
        var lookup = RandomText(LookupLength);
        var secret = prefix + lookup + RandomText(SecretLength);
        return (secret, lookup, Hash(secret));
    }

    /// <summary>Splits a presented secret into its lookup id, if it has the prefix and the right shape.</summary>
    public static bool TryGetLookupId(string presented, string prefix, [NotNullWhen(true)] out string? lookupId)
    {
        lookupId = null;
        if (!presented.StartsWith(prefix, StringComparison.Ordinal) || presented.Length != prefix.Length + LookupLength + SecretLength)
        {
            return false;
        }

        lookupId = presented.Substring(prefix.Length, LookupLength);
        return true;
    }

    public static bool Matches(string presented, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(presented), storedHash);

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string RandomText(int length)
    {
        // Base64url of enough random bytes, cut to length: 6 bits of entropy per character.
        var bytes = RandomNumberGenerator.GetBytes((length * 3 / 4) + 3);
        return Base64Url.EncodeToString(bytes)[..length];
    }
}
