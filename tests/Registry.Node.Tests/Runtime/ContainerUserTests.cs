using Registry.Node.Runtime;

namespace Registry.Node.Tests.Runtime;

public sealed class ContainerUserTests
{
    private const string Passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
    private const string Group = "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n";

    [Fact]
    public void A_name_resolves_to_its_uid_primary_gid_home_and_additional_groups()
    {
        var user = ContainerUser.Resolve("app", Passwd, Group);

        Assert.Equal((1000u, 1000u, "/home/app"), (user.Uid, user.Gid, user.Home));
        Assert.Equal([10u, 29u], user.AdditionalGids);
    }

    [Fact]
    public void A_numeric_uid_unknown_to_passwd_gets_gid_0_and_home_slash()
    {
        var user = ContainerUser.Resolve("4242", Passwd, Group);

        Assert.Equal((4242u, 0u, "/"), (user.Uid, user.Gid, user.Home));
    }

    [Fact]
    public void Uid_and_group_name_combine()
    {
        var user = ContainerUser.Resolve("1000:wheel", Passwd, Group);

        Assert.Equal((1000u, 10u), (user.Uid, user.Gid));
        Assert.Empty(user.AdditionalGids);
    }

    [Fact]
    public void An_empty_user_is_root()
    {
        Assert.Equal((0u, 0u), (ContainerUser.Resolve("", null, null).Uid, ContainerUser.Resolve(null, null, null).Gid));
    }

    [Fact]
    public void An_unknown_name_is_an_error_like_dockers()
    {
        var error = Assert.Throws<ContainerConfigException>(() => ContainerUser.Resolve("nobody-here", Passwd, Group));

        Assert.Equal("unable to find user nobody-here: no matching entries in passwd file", error.Message);
    }
}
