using System.Runtime.InteropServices;

namespace Registry.Storage.Uploads;

/// <summary>
/// A SHA-256 computation whose state can be saved and resumed in another process: what lets one replica continue
/// hashing an upload that another replica began, without reading its bytes again. .NET's own hashes keep their state
/// private, so this calls OpenSSL's libcrypto (which .NET itself uses on Linux, so it is always there) through its
/// SHA256_Init/Update/Final functions, whose context is a plain 112-byte struct (<c>SHA256_CTX</c>: eight state words,
/// the bit count, the pending block, its fill and the digest length), unchanged from OpenSSL 1.0 to 3.x. The same
/// assembly code as every OpenSSL hash runs underneath (SHA extensions where the CPU has them).
/// </summary>
/// <remarks>
/// A saved state is <see cref="StateSize"/> + 1 bytes: a format byte, then the struct in the machine's byte order.
/// <see cref="TryResume"/> refuses a state of another format, length or shape, and an upload then falls back to
/// hashing its staged bytes again; the digest is verified on commit either way, so a bad state can fail an upload,
/// never store bytes under a wrong digest.
/// </remarks>
public sealed unsafe class Sha256State : IDisposable
{
    public const int StateSize = 112;

    private const byte Format = 1;
    private const int FillOffset = 104;
    private const int DigestLengthOffset = 108;

    private static readonly Functions? Native = Functions.Load();

    private byte* _context;

    private Sha256State(byte* context) => _context = context;

    /// <summary>Whether libcrypto could be loaded; without it uploads hash with .NET and cannot hand states on.</summary>
    public static bool IsSupported => Native is not null;

    /// <summary>A new computation, or null when libcrypto is not available.</summary>
    public static Sha256State? TryCreate()
    {
        if (Native is not { } native)
        {
            return null;
        }

        var context = (byte*)NativeMemory.AllocZeroed(StateSize);
        if (native.Init(context) != 1)
        {
            NativeMemory.Free(context);
            throw new InvalidOperationException("SHA256_Init failed");
        }

        return new Sha256State(context);
    }

    /// <summary>Resumes a computation saved by <see cref="Save"/>; null when libcrypto is missing or the state is not one.</summary>
    public static Sha256State? TryResume(ReadOnlySpan<byte> saved)
    {
        if (Native is null || saved.Length != StateSize + 1 || saved[0] != Format)
        {
            return null;
        }

        var state = saved[1..];
        var fill = BitConverter.ToUInt32(state[FillOffset..]);
        var digestLength = BitConverter.ToUInt32(state[DigestLengthOffset..]);
        if (fill >= 64 || digestLength != 32)
        {
            return null;
        }

        var context = (byte*)NativeMemory.Alloc(StateSize);
        state.CopyTo(new Span<byte>(context, StateSize));
        return new Sha256State(context);
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        var context = Context();
        fixed (byte* bytes = data)
        {
            if (Native!.Update(context, bytes, (nuint)data.Length) != 1)
            {
                throw new InvalidOperationException("SHA256_Update failed");
            }
        }
    }

    /// <summary>The state after everything appended so far, to resume with <see cref="TryResume"/>.</summary>
    public byte[] Save()
    {
        var saved = new byte[StateSize + 1];
        saved[0] = Format;
        new ReadOnlySpan<byte>(Context(), StateSize).CopyTo(saved.AsSpan(1));
        return saved;
    }

    /// <summary>The digest of everything appended; the computation is over afterwards.</summary>
    public byte[] Finish()
    {
        var digest = new byte[32];
        fixed (byte* output = digest)
        {
            if (Native!.Final(output, Context()) != 1)
            {
                throw new InvalidOperationException("SHA256_Final failed");
            }
        }

        Dispose();
        return digest;
    }

    public void Dispose()
    {
        if (_context is not null)
        {
            NativeMemory.Clear(_context, StateSize);
            NativeMemory.Free(_context);
            _context = null;
        }
    }

    private byte* Context() => _context is not null ? _context : throw new ObjectDisposedException(nameof(Sha256State));

    /// <summary>The three libcrypto functions, looked up once.</summary>
    private sealed class Functions
    {
        public required delegate* unmanaged<byte*, int> Init { get; init; }

        public required delegate* unmanaged<byte*, byte*, nuint, int> Update { get; init; }

        public required delegate* unmanaged<byte*, byte*, int> Final { get; init; }

        public static Functions? Load()
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }

            foreach (var name in (string[])["libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"])
            {
                if (NativeLibrary.TryLoad(name, out var library)
                    && NativeLibrary.TryGetExport(library, "SHA256_Init", out var init)
                    && NativeLibrary.TryGetExport(library, "SHA256_Update", out var update)
                    && NativeLibrary.TryGetExport(library, "SHA256_Final", out var final))
                {
                    return new Functions
                    {
                        Init = (delegate* unmanaged<byte*, int>)init,
                        Update = (delegate* unmanaged<byte*, byte*, nuint, int>)update,
                        Final = (delegate* unmanaged<byte*, byte*, int>)final,
                    };
                }
            }

            return null;
        }
    }
}
