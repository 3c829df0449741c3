using System.ComponentModel.DataAnnotations;

namespace Registry.Api.Security;

/// <summary>
/// Bound from <c>Registry:Secrets</c>: where the key-encryption key comes from. At most one of the two is set;
/// without either, <c>secrets.key</c> in the data directory is used (generated at first start).
/// </summary>
public sealed class SecretsOptions : IValidatableObject
{
    public const string Section = "Registry:Secrets";

    /// <summary>The key-encryption key itself: 32 random bytes in base64 (<c>openssl rand -base64 32</c>).</summary>
    public string? Key { get; set; }

    /// <summary>A file that holds the key-encryption key as base64 text; it must exist.</summary>
    public string? KeyFile { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(Key) && !string.IsNullOrEmpty(KeyFile))
        {
            yield return new ValidationResult("set either Key or KeyFile, not both", [nameof(Key), nameof(KeyFile)]);
        }

        if (!string.IsNullOrEmpty(Key) && KeyEncryptionKey.Parse(Key) is null)
        {
            yield return new ValidationResult(
                $"must be {KeyEncryptionKey.KeySize} random bytes in base64 (openssl rand -base64 {KeyEncryptionKey.KeySize})", [nameof(Key)]);
        }
    }
}
