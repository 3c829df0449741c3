using Registry.Node.Runtime;
using Registry.Node.Runtime.Security;

namespace Registry.Node.Tests.Runtime;

/// <summary>docker's <c>--cap-add</c>/<c>--cap-drop</c> rules.</summary>
public sealed class CapabilitiesTests
{
    private static readonly IReadOnlySet<string> Everything = new HashSet<string>(Capabilities.ByName.Keys);

    [Fact]
    public void Without_options_the_set_is_dockers_default()
    {
        Assert.Equal(Capabilities.DockerDefault.Order(StringComparer.Ordinal), Capabilities.Resolve([], [], Everything).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Names_are_case_insensitive_with_or_without_the_prefix_and_drop_comes_before_add()
    {
        var caps = Capabilities.Resolve(["sys_admin", "Cap_Net_Admin", "CHOWN"], ["chown", "CAP_KILL", "mknod"], Everything);

        Assert.Contains("CAP_SYS_ADMIN", caps);
        Assert.Contains("CAP_NET_ADMIN", caps);
        Assert.Contains("CAP_CHOWN", caps); // dropped, then added again, as docker does
        Assert.DoesNotContain("CAP_KILL", caps);
        Assert.DoesNotContain("CAP_MKNOD", caps);
    }

    [Fact]
    public void Add_ALL_is_every_available_capability_but_the_dropped_ones()
    {
        var available = new HashSet<string>(Everything.Where(c => c != "CAP_SYS_RESOURCE"));

        var caps = Capabilities.Resolve(["all"], ["NET_RAW"], available);

        Assert.Equal(Capabilities.ByName.Count - 2, caps.Count);
        Assert.DoesNotContain("CAP_NET_RAW", caps);
        Assert.DoesNotContain("CAP_SYS_RESOURCE", caps);
    }

    [Fact]
    public void Drop_ALL_keeps_only_the_added_ones()
    {
        Assert.Equal(["CAP_CHOWN", "CAP_NET_BIND_SERVICE"], Capabilities.Resolve(["net_bind_service", "chown"], ["ALL"], Everything));
    }

    [Fact]
    public void An_unknown_name_is_refused()
    {
        var error = Assert.Throws<ContainerConfigException>(() => Capabilities.Resolve(["SYS_EVERYTHING"], [], Everything));

        Assert.Equal("unknown capability: \"CAP_SYS_EVERYTHING\"", error.Message);
    }

    [Fact]
    public void A_capability_the_node_does_not_hold_is_refused()
    {
        var available = new HashSet<string>(Everything.Where(c => c != "CAP_SYS_RESOURCE"));

        var error = Assert.Throws<ContainerConfigException>(() => Capabilities.Resolve(["SYS_RESOURCE"], [], available));

        Assert.Contains("CAP_SYS_RESOURCE", error.Message, StringComparison.Ordinal);
    }
}
