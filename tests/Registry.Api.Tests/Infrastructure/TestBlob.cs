using System.Security.Cryptography;
using System.Text;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>Content to push as a blob, with its sha256 digest.</summary>
internal sealed record TestBlob(byte[] Content)
{
    /// <summary>The OCI empty descriptor's content, <c>{}</c>.</summary>
    public static readonly TestBlob EmptyJson = new("{}"u8.ToArray());

    public string Digest { get; } = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Content));

    public long Size => Content.Length;

    public static TestBlob Random(int size)
    {
        var bytes = new byte[size];
        System.Random.Shared.NextBytes(bytes);
        return new TestBlob(bytes);
    }

    public static TestBlob Text(string text) => new(Encoding.UTF8.GetBytes(text));

    /// <summary>A unique image config, so manifests built on it have unique digests.</summary>
    public static TestBlob Config() =>
        Text($$$"""{"architecture":"amd64","os":"linux","author":"{{{Guid.NewGuid():N}}}","rootfs":{"type":"layers","diff_ids":[]}}""");
}
