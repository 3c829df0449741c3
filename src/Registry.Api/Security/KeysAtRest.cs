using System.Xml.Linq;
using Microsoft.EntityFrameworkCore;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Security;

/// <summary>
/// Start-up step that loads the key-encryption key and makes sure every key in the database is encrypted with it:
/// keys stored in plain text by earlier versions are encrypted in place, and every encrypted key is opened once, so
/// a wrong or missing key-encryption key stops the start with one clear message instead of failing later.
/// </summary>
public static partial class KeysAtRest
{
    public static async Task ProtectKeysAtRestAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        var key = services.GetRequiredService<KeyEncryptionKey>();
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var signingKeys = await db.SigningKeys.ToListAsync(ct);
        var ring = await db.DataProtectionKeys.ToListAsync(ct);
        var parsed = ring.Select(row => (Row: row, Xml: XElement.Parse(row.Xml))).ToList();

        var anyEncrypted = signingKeys.Any(k => KeyEncryptionKey.IsSealed(k.PrivateKey)) || parsed.Any(p => KeyRingXml.EncryptedSecrets(p.Xml).Any())
            || await db.Webhooks.AnyAsync(ct);
        key.Load(mayGenerate: !anyEncrypted);

        var encryptedNow = 0;
        foreach (var row in signingKeys)
        {
            if (KeyEncryptionKey.IsSealed(row.PrivateKey))
            {
                SigningKeys.OpenPrivateKey(key, row);
            }
            else
            {
                row.PrivateKey = SigningKeys.SealPrivateKey(key, row.Id, row.PrivateKey);
                encryptedNow++;
            }
        }

        var encryptor = new KeyRingEncryptor(key);
        var decryptor = new KeyRingDecryptor(services);
        foreach (var (row, xml) in parsed)
        {
            foreach (var secret in KeyRingXml.EncryptedSecrets(xml))
            {
                decryptor.Decrypt(secret);
            }

            if (KeyRingXml.HasPlaintextSecret(xml))
            {
                row.Xml = KeyRingXml.EncryptSecrets(xml, encryptor).ToString(SaveOptions.DisableFormatting);
                encryptedNow++;
            }
        }

        if (encryptedNow > 0)
        {
            await SaveOverwritingAsync(db, ct);
            LogEncrypted(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(KeysAtRest)), encryptedNow, key.Source);
        }
    }

    /// <summary>
    /// Saves the encrypted keys. On SQLite the space of the plain-text values is zeroed (<c>secure_delete</c>) and the
    /// write-ahead log is folded into the database and emptied, so the old values do not linger in either file.
    /// PostgreSQL keeps old row versions until it vacuums them, and earlier backups keep what they hold: rotating the
    /// signing key after the upgrade retires the key that was stored in plain text.
    /// </summary>
    private static async Task SaveOverwritingAsync(RegistryDbContext db, CancellationToken ct)
    {
        if (!db.Database.IsSqlite())
        {
            await db.SaveChangesAsync(ct);
            return;
        }

        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA secure_delete = ON;", ct);
            await db.SaveChangesAsync(ct);
            await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(TRUNCATE);", ct);
            await db.Database.ExecuteSqlRawAsync("PRAGMA secure_delete = OFF;", ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Encrypted {Count} keys that were stored in plain text in the database, with the key-encryption key from {Source}")]
    private static partial void LogEncrypted(ILogger logger, int count, string source);
}
