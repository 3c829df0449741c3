using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Registry.Core;

/// <summary>
/// A content digest, <c>algorithm:encoded</c>, as the OCI image spec defines it.
/// Only sha256 and sha512 are registered algorithms; any other well-formed algorithm parses
/// as syntactically valid but <see cref="IsSupported"/> is false so callers can answer
/// "unsupported" rather than "malformed".
/// </summary>
public sealed record Digest
{
    public const string Sha256 = "sha256";
    public const string Sha512 = "sha512";

    private Digest(string algorithm, string encoded)
    {
        Algorithm = algorithm;
        Encoded = encoded;
    }

    public string Algorithm { get; }

    /// <summary>The encoded part: lowercase hex for the registered algorithms.</summary>
    public string Encoded { get; }

    public bool IsSupported => Algorithm is Sha256 or Sha512;

    public override string ToString() => $"{Algorithm}:{Encoded}";

    public static Digest Parse(string value) =>
        TryParse(value, out var digest, out var error) ? digest : throw new FormatException(error);

    /// <summary>Parses the digest grammar; for registered algorithms also checks length and hex.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out Digest? digest, [NotNullWhen(false)] out string? error)
    {
        digest = null;
        if (string.IsNullOrEmpty(value))
        {
            error = "digest is empty";
            return false;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == value.Length - 1)
        {
            error = $"digest '{Truncate(value)}' is not of the form algorithm:encoded";
            return false;
        }

        var algorithm = value[..colon];
        var encoded = value[(colon + 1)..];
        if (!IsValidAlgorithm(algorithm) || !IsValidEncoded(encoded))
        {
            error = $"digest '{Truncate(value)}' is malformed";
            return false;
        }

        var expectedLength = algorithm switch
        {
            Sha256 => 64,
            Sha512 => 128,
            _ => 0,
        };
        if (expectedLength != 0 && (encoded.Length != expectedLength || !IsLowerHex(encoded)))
        {
            error = $"{algorithm} digest must be {expectedLength} lowercase hex characters";
            return false;
        }

        digest = new Digest(algorithm, encoded);
        error = null;
        return true;
    }

    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash) =>
        new(algorithm, Convert.ToHexStringLower(hash));

    public static Digest ComputeSha256(ReadOnlySpan<byte> content) =>
        FromHash(Sha256, SHA256.HashData(content));

    /// <summary>Computes this digest's algorithm over <paramref name="content"/>.</summary>
    public Digest ComputeSame(ReadOnlySpan<byte> content) => Algorithm switch
    {
        Sha256 => FromHash(Sha256, SHA256.HashData(content)),
        Sha512 => FromHash(Sha512, SHA512.HashData(content)),
        _ => throw new NotSupportedException($"digest algorithm '{Algorithm}' is not supported"),
    };

    public static HashAlgorithmName HashAlgorithmFor(string algorithm) => algorithm switch
    {
        Sha256 => HashAlgorithmName.SHA256,
        Sha512 => HashAlgorithmName.SHA512,
        _ => throw new NotSupportedException($"digest algorithm '{algorithm}' is not supported"),
    };

    // algorithm-component ::= [a-z0-9]+ ; separator ::= [+._-]
    private static bool IsValidAlgorithm(string algorithm)
    {
        var previousWasSeparator = true;
        foreach (var c in algorithm)
        {
            var isComponent = c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
            var isSeparator = c is '+' or '.' or '_' or '-';
            if (!isComponent && !isSeparator)
            {
                return false;
            }

            if (isSeparator && previousWasSeparator)
            {
                return false;
            }

            previousWasSeparator = isSeparator;
        }

        return !previousWasSeparator;
    }

    // encoded ::= [a-zA-Z0-9=_-]+
    private static bool IsValidEncoded(string encoded)
    {
        foreach (var c in encoded)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '=' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLowerHex(string s)
    {
        foreach (var c in s)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static string Truncate(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
