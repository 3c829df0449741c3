using Registry.Node.Cli;
using Registry.Node.Runtime;
using Registry.Node.Runtime.Networking;
using Registry.Node.Runtime.Volumes;

namespace Registry.Node.Tests.Runtime;

public sealed class MountAndPortParsingTests
{
    [Theory]
    [InlineData("data:/var/lib/data", MountKind.Volume, "data", "/var/lib/data", false)]
    [InlineData("data:/srv/:ro", MountKind.Volume, "data", "/srv", true)]
    [InlineData("/etc/ssl:/certs:ro", MountKind.Bind, "/etc/ssl", "/certs", true)]
    [InlineData("/tmp/x/../y:/y:rw", MountKind.Bind, "/tmp/y", "/y", false)]
    public void Volume_specifications_parse_as_docker_reads_them(string text, MountKind kind, string source, string target, bool readOnly)
    {
        var mount = MountRequest.ParseVolume(text);

        Assert.Equal(new MountRequest(kind, source, target, readOnly), mount);
    }

    [Theory]
    [InlineData("data")]
    [InlineData("data:relative")]
    [InlineData("data:/")]
    [InlineData("data:/a/../b")]
    [InlineData("data:/a:rx")]
    [InlineData("bad name:/a")]
    [InlineData("../up:/a")]
    public void Malformed_volume_specifications_are_refused(string text)
    {
        Assert.Throws<ContainerConfigException>(() => MountRequest.ParseVolume(text));
    }

    [Fact]
    public void A_tmpfs_keeps_only_its_size_and_mode_and_defaults_to_mode_1777()
    {
        Assert.Equal(new MountRequest(MountKind.Tmpfs, "", "/run", false, "mode=1777"), MountRequest.ParseTmpfs("/run"));
        Assert.Equal(new MountRequest(MountKind.Tmpfs, "", "/cache", true, "size=64m,mode=0700"), MountRequest.ParseTmpfs("/cache:size=64m,mode=0700,ro"));
        Assert.Throws<ContainerConfigException>(() => MountRequest.ParseTmpfs("/x:exec"));
        Assert.Throws<ContainerConfigException>(() => MountRequest.ParseTmpfs("/x:size=1m,uid=0"));
    }

    [Theory]
    [InlineData("8080:80", 8080, 80)]
    [InlineData("8080:80/tcp", 8080, 80)]
    [InlineData("127.0.0.1:9000:9001", 9000, 9001)]
    public void Port_mappings_parse(string text, int host, int container)
    {
        Assert.Equal(new PortMapping(host, container), PortMapping.Parse(text));
    }

    [Theory]
    [InlineData("80")]
    [InlineData("0:80")]
    [InlineData("8080:70000")]
    [InlineData("53:53/udp")]
    [InlineData("0.0.0.0:8080:80")]
    public void Port_mappings_that_cannot_be_published_on_loopback_are_refused(string text)
    {
        Assert.Throws<ContainerConfigException>(() => PortMapping.Parse(text));
    }

    [Fact]
    public void Volume_tmpfs_and_publish_values_are_not_taken_for_the_image()
    {
        var (parse, command) = RunCommand.SplitAtImage(["run", "-v", "data:/d", "--tmpfs", "/t", "-p", "80:80", "img", "sh"]);

        Assert.Equal(["run", "-v", "data:/d", "--tmpfs", "/t", "-p", "80:80", "img"], parse);
        Assert.Equal(["sh"], command);
    }
}
