using Registry.Core.Access;

namespace Registry.Core.Tests;

public sealed class AccessScopeTests
{
    [Theory]
    [InlineData("repository:alice/app:pull", "repository", "alice/app", "pull")]
    [InlineData("repository:acme/team/api:pull,push", "repository", "acme/team/api", "pull,push")]
    [InlineData("repository:localhost:5000/alice/app:push", "repository", "localhost:5000/alice/app", "push")]
    [InlineData("repository(plugin):vendor/tool:pull", "repository(plugin)", "vendor/tool", "pull")]
    [InlineData("registry:catalog:*", "registry", "catalog", "*")]
    [InlineData("repository:a:pull,pull,delete", "repository", "a", "pull,delete")]
    public void Parses_the_scope_grammar(string value, string type, string name, string actions)
    {
        Assert.True(AccessScope.TryParse(value, out var scope));
        Assert.Equal(type, scope.Type);
        Assert.Equal(name, scope.Name);
        Assert.Equal(actions, string.Join(',', scope.Actions));
    }

    [Theory]
    [InlineData("")]
    [InlineData("repository")]
    [InlineData("repository:alice/app")]
    [InlineData("repository:alice/app:")]
    [InlineData(":alice/app:pull")]
    [InlineData("repository::pull")]
    [InlineData("repo sitory:a:pull")]
    [InlineData("repository:a:PULL")]
    [InlineData("repository(:a:pull")]
    [InlineData("repository:a:pull;push")]
    public void Refuses_what_is_not_a_scope(string value)
    {
        Assert.False(AccessScope.TryParse(value, out _));
    }

    [Fact]
    public void Reads_several_scopes_per_value_and_skips_malformed_ones()
    {
        var scopes = AccessScope.ParseAll(["repository:a/b:pull repository:c/d:pull,push", "nonsense", null, "registry:catalog:*"]);

        Assert.Equal(["repository:a/b:pull", "repository:c/d:pull,push", "registry:catalog:*"], scopes.Select(s => s.ToString()));
    }

    [Fact]
    public void Maps_actions_to_flags_and_back()
    {
        Assert.True(AccessScope.TryParse("repository:a:pull,push,frobnicate", out var scope));

        Assert.Equal(RegistryAction.Pull | RegistryAction.Push, scope.RepositoryActions);
        Assert.Equal("repository:a:pull,delete", AccessScope.Repository("a", RegistryAction.Delete | RegistryAction.Pull).ToString());
        Assert.Equal(RegistryAction.Pull | RegistryAction.Push | RegistryAction.Delete, AccessScope.ParseAction("*"));
    }

    [Theory]
    [InlineData("alice/app", "alice")]
    [InlineData("acme/team/api", "acme")]
    [InlineData("alpine", null)]
    public void A_repository_namespace_is_its_first_component(string name, string? expected)
    {
        Assert.Equal(expected, RepositoryName.NamespaceOf(name));
    }
}
