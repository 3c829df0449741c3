using Registry.Storage.Retention;

namespace Registry.Storage.Tests.Retention;

/// <summary>The pieces of a policy that are parsed: durations, tag patterns, and the checks of a whole policy.</summary>
public sealed class RetentionRulesTests
{
    [Theory]
    [InlineData("90m", 90 * 60)]
    [InlineData("100h", 100 * 3600)]
    [InlineData("30d", 30 * 86400)]
    [InlineData("2w", 14 * 86400)]
    public void ADurationIsANumberAndAUnit(string text, long seconds)
    {
        Assert.True(RetentionDuration.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("0d")]
    [InlineData("-3d")]
    [InlineData("3")]
    [InlineData("3 d")]
    [InlineData("3y")]
    [InlineData("1.5d")]
    [InlineData("99999999999w")]
    public void AnythingElseIsNoDuration(string text) => Assert.False(RetentionDuration.TryParse(text, out _));

    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("release-*", "release-1.2", true)]
    [InlineData("release-*", "prerelease-1", false)]
    [InlineData("v?", "v1", true)]
    [InlineData("v?", "v10", false)]
    [InlineData("v[0-9].*", "v3.1", true)]
    [InlineData("v[0-9].*", "vx.1", false)]
    [InlineData("v[!0-9]*", "vx", true)]
    [InlineData("v[^0-9]*", "v1", false)]
    [InlineData("a.b", "aXb", false)]
    [InlineData("[a-]x", "-x", true)]
    public void AGlobMatchesWholeTagNames(string pattern, string tag, bool matches)
    {
        var glob = TagGlob.TryParse(pattern, out var error);

        Assert.Null(error);
        Assert.Equal(matches, glob!.IsMatch(tag));
    }

    [Theory]
    [InlineData("release-[0-9")]
    [InlineData("[]")]
    [InlineData("a]")]
    [InlineData("v1/*")]
    [InlineData("[z-a]")]
    [InlineData("tag with space")]
    public void ABadGlobIsRefusedWithAReason(string pattern)
    {
        Assert.Null(TagGlob.TryParse(pattern, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void APolicyOfAnotherNamespacesRepositoryOrWithoutRulesIsRefused()
    {
        var valid = new RetentionPolicyInput("team/app", "*", 3, "100h", null, null, "daily", true);

        Assert.Null(RetentionRules.Validate("team", valid));
        Assert.StartsWith("repository:", RetentionRules.Validate("other", valid), StringComparison.Ordinal);
        Assert.StartsWith("the policy has no rule", RetentionRules.Validate("team", valid with { KeepMostRecent = null, KeepYoungerThan = null }), StringComparison.Ordinal);
        Assert.StartsWith("schedule:", RetentionRules.Validate("team", valid with { Schedule = "monthly" }), StringComparison.Ordinal);
        Assert.StartsWith("keepMostRecent:", RetentionRules.Validate("team", valid with { KeepMostRecent = 0 }), StringComparison.Ordinal);
    }
}
