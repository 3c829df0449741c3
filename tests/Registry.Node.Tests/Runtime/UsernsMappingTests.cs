using Registry.Node.Runtime;
using Registry.Node.Runtime.Security;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>The node's remapping setting: START:COUNT, or a user's ranges in /etc/subuid and /etc/subgid.</summary>
public sealed class UsernsMappingTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("userns-mapping");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Start_and_count_map_uids_and_gids_alike()
    {
        Assert.Equal(new UsernsMapping(100000, 100000, 65536), UsernsMapping.Parse("100000:65536"));
    }

    [Fact]
    public void A_user_name_takes_its_first_ranges_from_subuid_and_subgid()
    {
        var subuid = _directory.Combine("subuid");
        var subgid = _directory.Combine("subgid");
        File.WriteAllText(subuid, "someone:100000:65536\nregistry-node:300000:65536\nregistry-node:500000:65536\n");
        File.WriteAllText(subgid, "registry-node:400000:70000\n");

        Assert.Equal(new UsernsMapping(300000, 400000, 65536), UsernsMapping.Parse("registry-node", subuid, subgid));
    }

    [Theory]
    [InlineData("0:65536", "must start above 0")]
    [InlineData("100000:0", "at least one id")]
    [InlineData("4294967000:65536", "at least one id")]
    [InlineData("1:2:3", "START:COUNT or a user name")]
    [InlineData("nobody-here", "no range for nobody-here")]
    public void A_setting_that_cannot_work_is_refused(string setting, string message)
    {
        var error = Assert.Throws<ContainerConfigException>(() => UsernsMapping.Parse(setting, _directory.Combine("none"), _directory.Combine("none")));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
