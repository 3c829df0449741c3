using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Registry.Api.Security;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// The keys that sign registry tokens, kept in the metadata store so every replica signs and verifies alike.
/// The newest unretired key signs. Rotation adds a key and retires the others; a retired key still verifies
/// until every token it signed has expired. Keys are re-read periodically and when a token names an unknown kid.
/// Private keys are stored encrypted with the <see cref="KeyEncryptionKey"/>, which is not in the database.
/// </summary>
public sealed class SigningKeys(IServiceScopeFactory scopes, IOptions<AuthOptions> options, TimeProvider time, KeyEncryptionKey keyEncryptionKey) : IDisposable
{
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UnknownKidRefreshInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private volatile Snapshot _snapshot = Snapshot.Empty;

    /// <summary>Credentials of the key that signs new tokens.</summary>
    public SigningCredentials Current =>
        _snapshot.Signing ?? throw new InvalidOperationException("no signing key is loaded; EnsureKeyAsync runs at start-up");

    /// <summary>Creates the first key if there is none, and loads the keys.</summary>
    public async Task EnsureKeyAsync(CancellationToken ct)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            if (!await db.SigningKeys.AnyAsync(k => k.RetiredAt == null, ct))
            {
                db.SigningKeys.Add(NewKey());
                await db.SaveChangesAsync(ct);
            }
        }

        await RefreshAsync(ct);
    }

    /// <summary>Adds a new signing key and retires the others. Returns the new key's id.</summary>
    public async Task<string> RotateAsync(CancellationToken ct)
    {
        var key = NewKey();
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            await db.SigningKeys.Where(k => k.RetiredAt == null).ExecuteUpdateAsync(s => s.SetProperty(k => k.RetiredAt, key.CreatedAt), ct);
            db.SigningKeys.Add(key);
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }

        await RefreshAsync(ct);
        return key.Id;
    }

    /// <summary>Keys a token may be verified with. Reloads (rate limited) when the token's kid is not known yet.</summary>
    public IEnumerable<SecurityKey> Resolve(string? kid)
    {
        var snapshot = _snapshot;
        var now = time.GetUtcNow();
        var stale = now - snapshot.LoadedAt > RefreshInterval;
        var unknown = kid is not null && !snapshot.Verifying.ContainsKey(kid) && now - snapshot.LoadedAt > UnknownKidRefreshInterval;
        if (stale || unknown)
        {
            // JwtBearer asks synchronously; this happens at most every few seconds.
            RefreshAsync(CancellationToken.None).GetAwaiter().GetResult();
            snapshot = _snapshot;
        }

        return kid is not null && snapshot.Verifying.TryGetValue(kid, out var key) ? [key] : snapshot.Verifying.Values;
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        await _refreshLock.WaitAsync(ct);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            var now = time.GetUtcNow();

            // A retired key verifies for one token lifetime after retirement, plus the allowed clock skew.
            var oldest = now.UtcDateTime - options.Value.TokenLifetime - TokenIssuer.ClockSkew;
            var rows = await db.SigningKeys.AsNoTracking()
                .Where(k => k.RetiredAt == null || k.RetiredAt > oldest)
                .ToListAsync(ct);

            var previous = _snapshot.Verifying;
            var verifying = rows.ToDictionary(
                r => r.Id,
                r => previous.TryGetValue(r.Id, out var known) ? known : ToSecurityKey(r),
                StringComparer.Ordinal);
            var signing = rows.Where(r => r.RetiredAt is null).OrderByDescending(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal).FirstOrDefault();
            _snapshot = new Snapshot(
                signing is null ? null : new SigningCredentials(verifying[signing.Id], Algorithm),
                verifying,
                now);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    public void Dispose() => _refreshLock.Dispose();

    /// <summary>A private key (PKCS#8) as the database stores it: sealed, bound to the key's id.</summary>
    public static byte[] SealPrivateKey(KeyEncryptionKey keyEncryptionKey, string id, byte[] pkcs8) =>
        keyEncryptionKey.Seal(pkcs8, Purpose(id));

    /// <summary>The PKCS#8 private key of a stored row.</summary>
    /// <exception cref="KeyProtectionException">The key-encryption key is not the one the row was sealed with.</exception>
    public static byte[] OpenPrivateKey(KeyEncryptionKey keyEncryptionKey, SigningKeyEntity row) =>
        keyEncryptionKey.Open(row.PrivateKey, Purpose(row.Id), $"signing key {row.Id} in the database");

    private static string Purpose(string id) => $"signing-key:{id}";

    private SigningKeyEntity NewKey()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        return new SigningKeyEntity
        {
            Id = id,
            Algorithm = Algorithm,
            PrivateKey = SealPrivateKey(keyEncryptionKey, id, ecdsa.ExportPkcs8PrivateKey()),
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
    }

    private ECDsaSecurityKey ToSecurityKey(SigningKeyEntity row)
    {
        var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(OpenPrivateKey(keyEncryptionKey, row), out _);
        return new ECDsaSecurityKey(ecdsa) { KeyId = row.Id };
    }

    private sealed record Snapshot(SigningCredentials? Signing, IReadOnlyDictionary<string, SecurityKey> Verifying, DateTimeOffset LoadedAt)
    {
        public static Snapshot Empty { get; } = new(null, new Dictionary<string, SecurityKey>(), DateTimeOffset.MinValue);
    }
}
