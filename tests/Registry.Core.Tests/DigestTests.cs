using Registry.Core;

namespace Registry.Core.Tests;

public sealed class DigestTests
{
    private const string EmptySha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void Parses_a_sha256_digest()
    {
        var digest = Digest.Parse(EmptySha256);

        Assert.Equal("sha256", digest.Algorithm);
        Assert.True(digest.IsSupported);
        Assert.Equal(EmptySha256, digest.ToString());
    }

    [Fact]
    public void Computes_sha256_of_content()
    {
        Assert.Equal(EmptySha256, Digest.ComputeSha256([]).ToString());
    }

    [Fact]
    public void Computes_sha512_when_the_reference_digest_is_sha512()
    {
        var reference = Digest.Parse("sha512:" + new string('a', 128));

        var computed = reference.ComputeSame("abc"u8);

        Assert.Equal("sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f", computed.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData(":abc")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0c442")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85z")]
    [InlineData("SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256::e3b0")]
    [InlineData("sha256:../../etc/passwd")]
    public void Rejects_malformed_digests(string value)
    {
        Assert.False(Digest.TryParse(value, out _, out var error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha384:abc")]
    [InlineData("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8")]
    public void Parses_well_formed_but_unsupported_algorithms_as_unsupported(string value)
    {
        Assert.True(Digest.TryParse(value, out var digest, out _));
        Assert.False(digest.IsSupported);
        Assert.Throws<NotSupportedException>(() => digest.ComputeSame([]));
    }
}
