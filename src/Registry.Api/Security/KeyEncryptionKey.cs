using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Registry.Storage;
using Registry.Storage.Blobs;

namespace Registry.Api.Security;

/// <summary>
/// The key that encrypts the registry's own keys at rest: the token signing keys and ASP.NET Data Protection's keys
/// (cookies, antiforgery). Those live in the metadata database so that every replica shares them; this key never
/// does, so a dump or backup of the database reveals no usable key. It comes from <c>Registry:Secrets:Key</c>, from
/// the file <c>Registry:Secrets:KeyFile</c>, or by default from <c>secrets.key</c> in the data directory, generated
/// at first start (0600). Replicas must all use the same one.
/// <para>
/// A sealed value is AES-256-GCM: <c>"RKE1"</c>, the key's id (4 bytes), a random nonce (12), the tag (16), then the
/// ciphertext. The associated data names what the value is (e.g. the signing key's id), so a sealed value cannot be
/// moved to another row. The id (the start of the key's SHA-256) tells, in an error, which key a value needs.
/// </para>
/// </summary>
public sealed partial class KeyEncryptionKey(IOptions<SecretsOptions> options, IConfiguration configuration, ILogger<KeyEncryptionKey> logger)
{
    public const int KeySize = 32;
    public const string DefaultFileName = "secrets.key";

    private const int IdSize = 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 4 + IdSize + NonceSize + TagSize;

    private static ReadOnlySpan<byte> Magic => "RKE1"u8;

    private Loaded? _loaded;

    /// <summary>Where the key came from, for messages: a setting's name or a file's path.</summary>
    public string Source => Current.Source;

    /// <summary>The key's id, as sealed values carry it.</summary>
    public string Id => Convert.ToHexStringLower(Current.Id);

    private Loaded Current => _loaded ?? throw new InvalidOperationException("the key-encryption key is loaded at start-up, before any key is read");

    /// <summary>Whether <paramref name="value"/> is sealed (keys stored before encryption was introduced are not).</summary>
    public static bool IsSealed(ReadOnlySpan<byte> value) => value.Length >= HeaderSize && value.StartsWith(Magic);

    /// <summary>The key in base64 text, or null when the text is not 32 bytes in base64.</summary>
    public static byte[]? Parse(string text)
    {
        var buffer = new byte[KeySize + 3];
        return Convert.TryFromBase64String(text.Trim(), buffer, out var written) && written == KeySize ? buffer[..KeySize] : null;
    }

    /// <summary>
    /// Reads the configured key, or the data directory's key file. That file is generated when it does not exist
    /// and <paramref name="mayGenerate"/> (the database holds no sealed value yet): a new key could not open old values.
    /// </summary>
    /// <exception cref="KeyProtectionException">The key is missing or unreadable.</exception>
    public void Load(bool mayGenerate)
    {
        var settings = options.Value;
        byte[] key;
        string source;
        if (!string.IsNullOrEmpty(settings.Key))
        {
            key = Parse(settings.Key) ?? throw new KeyProtectionException($"{SecretsOptions.Section}:Key is not {KeySize} bytes in base64");
            source = $"{SecretsOptions.Section}:Key";
        }
        else if (!string.IsNullOrEmpty(settings.KeyFile))
        {
            source = Path.GetFullPath(settings.KeyFile);
            if (!File.Exists(source))
            {
                throw new KeyProtectionException($"the key-encryption key file {source} ({SecretsOptions.Section}:KeyFile) does not exist");
            }

            key = ReadFile(source);
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(source) & OwnerOnly.GroupOrOther) != 0)
            {
                LogReadableByOthers(logger, source);
            }
        }
        else
        {
            source = Path.Combine(configuration.DataDirectory(), DefaultFileName);
            if (File.Exists(source))
            {
                key = ReadFile(source);
            }
            else if (mayGenerate)
            {
                key = Generate(source);
                LogGenerated(logger, source);
            }
            else
            {
                throw new KeyProtectionException(
                    $"the database holds encrypted keys but the key-encryption key file {source} does not exist: restore it, "
                    + $"or set {SecretsOptions.Section}:Key or {SecretsOptions.Section}:KeyFile to the key they were encrypted with");
            }
        }

        _loaded = new Loaded(key, SHA256.HashData(key)[..IdSize], source);
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string purpose)
    {
        var current = Current;
        var result = new byte[HeaderSize + plaintext.Length];
        Magic.CopyTo(result);
        current.Id.CopyTo(result.AsSpan(4));
        var nonce = result.AsSpan(4 + IdSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(current.Key, TagSize);
        aes.Encrypt(nonce, plaintext, result.AsSpan(HeaderSize), result.AsSpan(4 + IdSize + NonceSize, TagSize), Encoding.UTF8.GetBytes(purpose));
        return result;
    }

    /// <param name="what">What the value is, for the error message (e.g. "signing key 1a2b…").</param>
    /// <exception cref="KeyProtectionException">The value needs another key, or is damaged.</exception>
    public byte[] Open(ReadOnlySpan<byte> sealedValue, string purpose, string what)
    {
        var current = Current;
        if (!IsSealed(sealedValue))
        {
            throw new KeyProtectionException($"the {what} is not encrypted with a key-encryption key");
        }

        var id = sealedValue.Slice(4, IdSize);
        if (!id.SequenceEqual(current.Id))
        {
            throw new KeyProtectionException(
                $"the {what} was encrypted with key-encryption key {Convert.ToHexStringLower(id)}, but the key configured ({current.Source}) "
                + $"is {Convert.ToHexStringLower(current.Id)}: start with the key it was encrypted with "
                + $"({SecretsOptions.Section}:Key, {SecretsOptions.Section}:KeyFile or {DefaultFileName} in the data directory)");
        }

        var plaintext = new byte[sealedValue.Length - HeaderSize];
        try
        {
            using var aes = new AesGcm(current.Key, TagSize);
            aes.Decrypt(
                sealedValue.Slice(4 + IdSize, NonceSize), sealedValue[HeaderSize..], sealedValue.Slice(4 + IdSize + NonceSize, TagSize),
                plaintext, Encoding.UTF8.GetBytes(purpose));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new KeyProtectionException($"the {what} does not decrypt with key-encryption key {Convert.ToHexStringLower(current.Id)}: it was altered or belongs to another row");
        }

        return plaintext;
    }

    private static byte[] ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyProtectionException($"the key-encryption key file {path} cannot be read: {e.Message}");
        }

        return Parse(text) ?? throw new KeyProtectionException($"the key-encryption key file {path} does not hold {KeySize} bytes in base64");
    }

    /// <summary>Writes a new key to a temporary file, makes it durable, then moves it into place (another process may win).</summary>
    private static byte[] Generate(string path)
    {
        var key = RandomNumberGenerator.GetBytes(KeySize);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var file = new FileStream(temporary, OwnerOnly.NewFile(FileMode.Create, FileAccess.Write)))
        {
            file.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
            file.Flush(flushToDisk: true);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return ReadFile(path);
        }

        DirectorySync.Flush(Path.GetDirectoryName(path)!);
        return key;
    }

    private sealed record Loaded(byte[] Key, byte[] Id, string Source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generated the key-encryption key {Path} (readable by this user only). Keep it with backups of the database, apart from them; every replica needs the same key")]
    private static partial void LogGenerated(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The key-encryption key file {Path} is readable by other users; make it readable by the registry's user only (chmod 600)")]
    private static partial void LogReadableByOthers(ILogger logger, string path);
}

/// <summary>A key that cannot be read or opened; the server does not start, with this one-line message.</summary>
public sealed class KeyProtectionException : Exception
{
    public KeyProtectionException()
    {
    }

    public KeyProtectionException(string message)
        : base(message)
    {
    }

    public KeyProtectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
