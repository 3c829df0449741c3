using Registry.Core;

namespace Registry.Core.Tests;

public sealed class NameTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("library/busybox")]
    [InlineData("acme/team/api")]
    [InlineData("a.b/c_d/e__f/g-h/i---j")]
    [InlineData("0/1/2")]
    public void Accepts_valid_repository_names(string name)
    {
        Assert.Null(RepositoryName.Validate(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upper/case")]
    [InlineData("a/../b")]
    [InlineData("..")]
    [InlineData("a//b")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("a..b")]
    [InlineData("a___b")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("a._b")]
    public void Rejects_invalid_repository_names(string name)
    {
        Assert.NotNull(RepositoryName.Validate(name));
    }

    [Fact]
    public void Rejects_names_over_255_characters()
    {
        var name = string.Join('/', Enumerable.Repeat(new string('a', 63), 4)) + "/abc";

        Assert.True(name.Length > RepositoryName.MaxLength);
        Assert.NotNull(RepositoryName.Validate(name));
        Assert.Null(RepositoryName.Validate(name[..RepositoryName.MaxLength].TrimEnd('/')));
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("v1.2.3")]
    [InlineData("_underscore")]
    [InlineData("UPPER-case_1.0")]
    public void Accepts_valid_tags(string tag)
    {
        Assert.True(TagName.IsValid(tag));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("a:b")]
    [InlineData("a/b")]
    [InlineData("a b")]
    public void Rejects_invalid_tags(string tag)
    {
        Assert.False(TagName.IsValid(tag));
    }

    [Fact]
    public void Tags_are_at_most_128_characters()
    {
        Assert.True(TagName.IsValid(new string('a', 128)));
        Assert.False(TagName.IsValid(new string('a', 129)));
    }

    [Fact]
    public void A_reference_with_a_colon_is_a_digest()
    {
        Assert.True(ManifestReference.TryParse("sha256:" + new string('0', 64), out var reference, out _, out _));
        Assert.NotNull(reference.Digest);
        Assert.Null(reference.Tag);
    }

    [Fact]
    public void A_reference_with_an_unsupported_digest_is_digest_invalid()
    {
        Assert.False(ManifestReference.TryParse("md5:d41d8cd98f00b204e9800998ecf8427e", out _, out var error, out _));
        Assert.Equal(ErrorCode.DigestInvalid, error);
    }

    [Fact]
    public void A_reference_that_is_no_tag_is_tag_invalid()
    {
        Assert.False(ManifestReference.TryParse("-bad", out _, out var error, out _));
        Assert.Equal(ErrorCode.TagInvalid, error);
    }
}
