using System.Security.Cryptography;

namespace Registry.Storage.Uploads;

/// <summary>
/// The running hash of an upload: SHA-256 through <see cref="Sha256State"/>, whose state can be saved for another
/// replica, or .NET's own hash where libcrypto is missing or for another algorithm (then it cannot be saved).
/// </summary>
public sealed class UploadHash : IDisposable
{
    private readonly Sha256State? _portable;
    private readonly IncrementalHash? _local;

    private UploadHash(Sha256State? portable, IncrementalHash? local)
    {
        _portable = portable;
        _local = local;
    }

    public static UploadHash Create(HashAlgorithmName algorithm) =>
        algorithm == HashAlgorithmName.SHA256 && Sha256State.TryCreate() is { } state
            ? new UploadHash(state, null)
            : new UploadHash(null, IncrementalHash.CreateHash(algorithm));

    /// <summary>A SHA-256 resumed from a saved state, or null when it cannot be.</summary>
    public static UploadHash? TryResume(byte[]? saved) =>
        saved is not null && Sha256State.TryResume(saved) is { } state ? new UploadHash(state, null) : null;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_portable is not null)
        {
            _portable.Append(data);
        }
        else
        {
            _local!.AppendData(data);
        }
    }

    /// <summary>The state to hand to another process, or null when this hash cannot be saved.</summary>
    public byte[]? TrySave() => _portable?.Save();

    /// <summary>The digest of everything appended; the hash is over afterwards.</summary>
    public byte[] Finish() => _portable is not null ? _portable.Finish() : _local!.GetHashAndReset();

    public void Dispose()
    {
        _portable?.Dispose();
        _local?.Dispose();
    }
}
