using System.Net;
using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using Registry.Api.Identity;
using Registry.Api.Security;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;
using static Registry.Api.Tests.Infrastructure.AuthHttp;

namespace Registry.Api.Tests.Hosting;

/// <summary>
/// The signing keys and Data Protection keys in the database are encrypted with a key that is not in the database, so
/// a copy of the database (a dump, a backup, a file another user could read) holds no usable key.
/// </summary>
public sealed class KeysAtRestTests : IDisposable
{
    private readonly string _dataDirectory = RegistryFactory.NewDataDirectory();
    private readonly string _adminPassword = RegistryFactory.NewAdminPassword();

    public void Dispose() => RegistryFactory.DeleteDirectory(_dataDirectory);

    [Fact]
    public async Task TheDatabaseHoldsNoPrivateKeyInPlainText()
    {
        await using var registry = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword);
        using var client = registry.CreatePlainClient();
        using var login = await client.GetAsync("/login"); // the UI's antiforgery token makes Data Protection create its key
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var signing = PrivateKey(registry.Services.GetRequiredService<SigningKeys>().Current.Key);

        await using var scope = registry.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var rows = await db.SigningKeys.AsNoTracking().ToListAsync();
        var ring = await db.DataProtectionKeys.AsNoTracking().ToListAsync();

        Assert.NotEmpty(rows);
        Assert.All(rows, row => Assert.False(IsPkcs8(row.PrivateKey), $"signing key {row.Id} is stored as PKCS#8"));
        Assert.NotEmpty(ring);
        Assert.All(ring, row => AssertSecretEncrypted(XElement.Parse(row.Xml)));
        Assert.False(DatabaseFilesContain(signing), "the signing key's PKCS#8 bytes are in the database files");
    }

    [Fact]
    public async Task KeysStoredInPlainTextAreEncryptedAtStartAndKeepWorking()
    {
        var legacy = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var legacyPkcs8 = legacy.ExportPkcs8PrivateKey();
        var masterKey = RandomNumberGenerator.GetBytes(64);
        var dataProtectionKeyId = Guid.NewGuid();
        await using (var before = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword))
        {
            await using var scope = before.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();

            // What an earlier version wrote: a newer signing key and a Data Protection key, both in plain text.
            await db.SigningKeys.ExecuteUpdateAsync(s => s.SetProperty(k => k.RetiredAt, DateTime.UtcNow));
            db.SigningKeys.Add(new SigningKeyEntity { Id = "legacy0000000001", Algorithm = SigningKeys.Algorithm, PrivateKey = legacyPkcs8, CreatedAt = DateTime.UtcNow });
            db.DataProtectionKeys.Add(new DataProtectionKeyEntity { Xml = PlaintextDataProtectionKey(dataProtectionKeyId, masterKey) });
            await db.SaveChangesAsync();
        }

        await using var after = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword);
        using var client = after.CreatePlainClient();
        var token = await client.TokenAsync(RegistryFactory.Admin, _adminPassword, "repository:keys/app:pull");
        using var probe = await client.SendWithTokenAsync(HttpMethod.Get, "/v2/", token);
        var migrated = after.Services.GetRequiredService<IKeyManager>().GetAllKeys().Single(k => k.KeyId == dataProtectionKeyId);

        Assert.Equal("legacy0000000001", Header(token).GetProperty("kid").GetString());
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        var encryptor = migrated.CreateEncryptor()!;
        var sealedText = encryptor.Encrypt(new ArraySegment<byte>("cookie"u8.ToArray()), new ArraySegment<byte>([]));
        Assert.Equal("cookie"u8.ToArray(), encryptor.Decrypt(new ArraySegment<byte>(sealedText), new ArraySegment<byte>([])));
        await using var scope2 = after.Services.CreateAsyncScope();
        var rows = scope2.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var stored = await rows.SigningKeys.AsNoTracking().SingleAsync(k => k.Id == "legacy0000000001");
        Assert.True(KeyEncryptionKey.IsSealed(stored.PrivateKey));
        Assert.All(await rows.DataProtectionKeys.AsNoTracking().ToListAsync(), row => AssertSecretEncrypted(XElement.Parse(row.Xml)));
        Assert.False(DatabaseFilesContain(legacyPkcs8), "the plain-text signing key is left in the database files");
        Assert.False(DatabaseFilesContain(masterKey), "the plain-text Data Protection key is left in the database files");
    }

    [Fact]
    public async Task TokensAndTheKeyFileSurviveARestart()
    {
        string token;
        await using (var before = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword))
        {
            using var client = before.CreatePlainClient();
            token = await client.TokenAsync(RegistryFactory.Admin, _adminPassword, "repository:keys/app:pull");
        }

        var keyFile = await File.ReadAllTextAsync(Path.Combine(_dataDirectory, KeyEncryptionKey.DefaultFileName));
        await using var after = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword);
        using var restarted = after.CreatePlainClient();
        using var probe = await restarted.SendWithTokenAsync(HttpMethod.Get, "/v2/", token);

        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        Assert.Equal(keyFile, await File.ReadAllTextAsync(Path.Combine(_dataDirectory, KeyEncryptionKey.DefaultFileName)));
    }

    private static void AssertSecretEncrypted(XElement key)
    {
        XNamespace dataProtection = "http://schemas.asp.net/2015/03/dataProtection";
        Assert.DoesNotContain(key.DescendantsAndSelf(), e => e.Attribute(dataProtection + "requiresEncryption") is not null);
        Assert.Empty(key.Descendants("value"));
        Assert.NotEmpty(key.Descendants(dataProtection + "encryptedSecret"));
    }

    private static bool IsPkcs8(byte[] value)
    {
        try
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(value, out _);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] PrivateKey(SecurityKey key) => Assert.IsType<ECDsaSecurityKey>(key).ECDsa.ExportPkcs8PrivateKey();

    private static readonly string[] DatabaseFiles = ["registry.db", "registry.db-wal"];

    private bool DatabaseFilesContain(byte[] secret) =>
        DatabaseFiles
            .Select(name => Path.Combine(_dataDirectory, name))
            .Where(File.Exists)
            .Any(path => ReadShared(path).AsSpan().IndexOf(secret) >= 0);

    private static byte[] ReadShared(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        file.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A Data Protection key as ASP.NET Core writes it when no key encryption is configured.</summary>
    private static string PlaintextDataProtectionKey(Guid id, byte[] masterKey)
    {
        var now = DateTimeOffset.UtcNow;
        return $"""<key id="{id}" version="1"><creationDate>{now:O}</creationDate><activationDate>{now.AddMinutes(-1):O}</activationDate><expirationDate>{now.AddDays(90):O}</expirationDate><descriptor deserializerType="Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection, Version=10.0.0.0, Culture=neutral, PublicKeyToken=adb9793829ddae60"><descriptor><encryption algorithm="AES_256_CBC" /><validation algorithm="HMACSHA256" /><masterKey p4:requiresEncryption="true" xmlns:p4="http://schemas.asp.net/2015/03/dataProtection"><!-- Warning: the key below is in an unencrypted form. --><value>{Convert.ToBase64String(masterKey)}</value></masterKey></descriptor></descriptor></key>""";
    }
}
