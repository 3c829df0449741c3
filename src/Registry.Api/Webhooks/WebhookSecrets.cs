using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Registry.Api.Identity;
using Registry.Api.Security;

namespace Registry.Api.Webhooks;

/// <summary>
/// A webhook's signing secret. It must be read back in clear to sign each delivery, so it cannot be hashed like an
/// access token: it is sealed with the key-encryption key, bound to the webhook's id, like the signing keys are.
/// </summary>
public static class WebhookSecrets
{
    public const string Prefix = "whsec_";
    public const int MinLength = 16;
    public const int MaxLength = 256;

    public static string Generate() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));

    /// <exception cref="IdentityException">A chosen secret that is too short or too long.</exception>
    public static string Check(string secret)
    {
        if (secret.Length is < MinLength or > MaxLength)
        {
            throw IdentityException.Invalid($"secret must be {MinLength} to {MaxLength} characters");
        }

        return secret;
    }

    public static byte[] Seal(KeyEncryptionKey key, string webhookId, string secret) =>
        key.Seal(Encoding.UTF8.GetBytes(secret), Purpose(webhookId));

    public static byte[] Open(KeyEncryptionKey key, string webhookId, byte[] sealedSecret) =>
        key.Open(sealedSecret, Purpose(webhookId), $"secret of webhook {webhookId}");

    private static string Purpose(string webhookId) => $"webhook-secret:{webhookId}";
}
