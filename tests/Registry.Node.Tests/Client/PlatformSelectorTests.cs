using Registry.Core.Manifests;
using Registry.Node.Client;

namespace Registry.Node.Tests.Client;

public sealed class PlatformSelectorTests
{
    [Theory]
    [InlineData("linux/amd64", "linux/amd64")]
    [InlineData("linux/x86_64", "linux/amd64")]
    [InlineData("linux/aarch64", "linux/arm64")]
    [InlineData("linux/arm64/v8", "linux/arm64")]
    [InlineData("linux/arm", "linux/arm/v7")]
    [InlineData("Linux/ARM/v6", "linux/arm/v6")]
    public void Platforms_are_normalised_as_docker_does(string text, string normalised)
    {
        Assert.Equal(normalised, PlatformSelector.Parse(text).ToString());
    }

    [Theory]
    [InlineData("linux")]
    [InlineData("linux/")]
    [InlineData("linux/arm/v7/extra")]
    public void A_malformed_platform_is_refused(string text)
    {
        Assert.Throws<FormatException>(() => PlatformSelector.Parse(text));
    }

    [Fact]
    public void Arm64_without_variant_matches_an_entry_declaring_v8()
    {
        Assert.True(PlatformSelector.Matches(PlatformSelector.Parse("linux/arm64"), new Platform("linux", "arm64", "v8")));
        Assert.False(PlatformSelector.Matches(PlatformSelector.Parse("linux/arm64"), new Platform("linux", "amd64")));
    }
}
