using Registry.Node.Client;

namespace Registry.Node.Tests.Client;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000", "team/app", "v1")]
    [InlineData("localhost/app", "localhost", "app", "latest")]
    [InlineData("localhost:5000/app", "localhost:5000", "app", "latest")]
    [InlineData("registry.example.com/a/b/c:1.0", "registry.example.com", "a/b/c", "1.0")]
    [InlineData("[::1]:5000/app:x", "[::1]:5000", "app", "x")]
    public void A_first_component_with_a_dot_a_colon_or_localhost_is_the_registry(string text, string registry, string repository, string tag)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Null(reference.Digest);
    }

    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest")]
    [InlineData("team/app:v2", "docker.io/team/app:v2")]
    [InlineData("docker.io/app", "docker.io/library/app:latest")]
    public void A_name_without_a_registry_is_on_docker_hub(string text, string normalised)
    {
        Assert.Equal(normalised, ImageReference.Parse(text).ToString());
    }

    [Fact]
    public void A_digest_reference_has_no_default_tag_and_is_what_the_manifest_request_uses()
    {
        var digest = "sha256:" + new string('a', 64);

        var reference = ImageReference.Parse($"127.0.0.1:5000/app@{digest}");

        Assert.Null(reference.Tag);
        Assert.Equal(digest, reference.Digest?.ToString());
        Assert.Equal(digest, reference.ManifestReference);
        Assert.Equal($"127.0.0.1:5000/app@{digest}", reference.ToString());
    }

    [Fact]
    public void A_tag_and_a_digest_are_both_kept_and_the_digest_wins()
    {
        var digest = "sha256:" + new string('b', 64);

        var reference = ImageReference.Parse($"127.0.0.1:5000/app:v1@{digest}");

        Assert.Equal("v1", reference.Tag);
        Assert.Equal(digest, reference.ManifestReference);
        Assert.Equal($"127.0.0.1:5000/app:v1@{digest}", reference.ToString());
    }

    [Theory]
    [InlineData("127.0.0.1:5000/App:v1", "lowercase")]
    [InlineData("127.0.0.1:5000/app@sha256:abc", "sha256 digest must be 64")]
    [InlineData("127.0.0.1:5000/app@md5:" + "0123456789abcdef0123456789abcdef", "unsupported digest algorithm")]
    [InlineData("127.0.0.1:5000/app:-bad", "tag '-bad'")]
    [InlineData("127.0.0.1:5000/a//b", "empty path component")]
    [InlineData("127.0.0.1:99999/app", "not a valid registry host")]
    [InlineData("", "empty")]
    public void An_invalid_reference_is_refused_with_the_reason(string text, string reason)
    {
        Assert.False(ImageReference.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_uppercase_first_component_is_a_path_not_a_host()
    {
        // Docker's rule: "Example.com/app" is not a host (uppercase), so it is an invalid path.
        Assert.False(ImageReference.TryParse("Example.com/app", out _, out var error));
        Assert.Contains("lowercase", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parsing_what_ToString_printed_gives_the_same_reference()
    {
        var reference = ImageReference.Parse("127.0.0.1:5000/ns/app:v1");

        Assert.Equal(reference, ImageReference.Parse(reference.ToString()));
    }
}
