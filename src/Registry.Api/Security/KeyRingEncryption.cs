using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Registry.Api.Security;

/// <summary>
/// Encrypts the secret part of each ASP.NET Data Protection key with the <see cref="KeyEncryptionKey"/> before the key
/// ring is stored in the database. Data Protection keeps the result in an <c>encryptedSecret</c> element that names
/// <see cref="KeyRingDecryptor"/>, and calls that to read it back.
/// </summary>
public sealed class KeyRingEncryptor(KeyEncryptionKey key) : IXmlEncryptor
{
    internal const string Purpose = "data-protection-key";
    internal static readonly XName ElementName = "registryEncryptedSecret";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var element = new XElement(
            ElementName,
            new XAttribute("keyEncryptionKey", key.Id),
            Convert.ToBase64String(key.Seal(plaintext, Purpose)));
        return new EncryptedXmlInfo(element, typeof(KeyRingDecryptor));
    }
}

/// <summary>Reads back what <see cref="KeyRingEncryptor"/> wrote. Data Protection creates it with the application's services.</summary>
public sealed class KeyRingDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var key = services.GetRequiredService<KeyEncryptionKey>();
        var plaintext = key.Open(Convert.FromBase64String(encryptedElement.Value), KeyRingEncryptor.Purpose, "Data Protection key");
        return XElement.Parse(Encoding.UTF8.GetString(plaintext));
    }
}

/// <summary>
/// Data Protection's key XML as stored: the parts a key marks with <c>requiresEncryption</c> are replaced, when an
/// encryptor is configured, by an <c>encryptedSecret</c> element naming the decryptor. Keys written before the
/// registry configured one are in plain text; these helpers find and convert them in place.
/// </summary>
internal static class KeyRingXml
{
    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";
    private static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";

    /// <summary>Whether the key holds a secret in plain text.</summary>
    public static bool HasPlaintextSecret(XElement key) =>
        key.DescendantsAndSelf().Any(e => (bool?)e.Attribute(RequiresEncryption) == true);

    /// <summary>The secrets the registry's encryptor protects in this key.</summary>
    public static IEnumerable<XElement> EncryptedSecrets(XElement key) =>
        key.Descendants(EncryptedSecret).Elements(KeyRingEncryptor.ElementName);

    /// <summary>A copy of the key with every plain-text secret encrypted, as Data Protection writes new keys.</summary>
    public static XElement EncryptSecrets(XElement key, IXmlEncryptor encryptor)
    {
        var copy = new XElement(key);
        foreach (var secret in copy.DescendantsAndSelf().Where(e => (bool?)e.Attribute(RequiresEncryption) == true).ToList())
        {
            var encrypted = encryptor.Encrypt(new XElement(secret));
            secret.ReplaceWith(new XElement(
                EncryptedSecret,
                new XAttribute("decryptorType", encrypted.DecryptorType.AssemblyQualifiedName!),
                encrypted.EncryptedElement));
        }

        return copy;
    }
}
