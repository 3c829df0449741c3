using System.Text;
using Registry.Node.Client;
using Registry.Testing;

namespace Registry.Node.Tests.Client;

public sealed class DockerConfigFileTests : IDisposable
{
    private readonly TemporaryDirectory _home = new("node-home");

    public void Dispose() => _home.Dispose();

    [Fact]
    public void The_default_path_is_dot_docker_config_json_in_home()
    {
        Assert.Equal(Path.Combine(_home.Path, ".docker", "config.json"), DockerConfigFile.DefaultPath(home: _home.Path));
    }

    [Fact]
    public void An_auth_entry_is_decoded_to_user_and_password()
    {
        var path = Write("""{"auths":{"127.0.0.1:5000":{"auth":"AUTH"}}}""".Replace("AUTH", Base64("alice:s3cr:et"), StringComparison.Ordinal));

        var lookup = DockerConfigFile.Load(path)!.Lookup("127.0.0.1:5000");

        Assert.Equal(new RegistryCredential("alice", "s3cr:et"), lookup.Credential);
    }

    [Fact]
    public void An_entry_written_as_a_url_matches_its_host()
    {
        var path = Write("""{"auths":{"https://registry.example.com/v1/":{"auth":"AUTH"}}}""".Replace("AUTH", Base64("bob:pw"), StringComparison.Ordinal));

        var lookup = DockerConfigFile.Load(path)!.Lookup("registry.example.com");

        Assert.Equal("bob", lookup.Credential?.Username);
    }

    [Fact]
    public void Docker_hub_credentials_are_found_under_the_index_url()
    {
        var path = Write("""{"auths":{"https://index.docker.io/v1/":{"auth":"AUTH"}}}""".Replace("AUTH", Base64("carol:pw"), StringComparison.Ordinal));

        var lookup = DockerConfigFile.Load(path)!.Lookup(ImageReference.DefaultRegistry);

        Assert.Equal("carol", lookup.Credential?.Username);
    }

    [Fact]
    public void An_identity_token_is_kept()
    {
        var path = Write("""{"auths":{"127.0.0.1:5000":{"auth":"AUTH","identitytoken":"refresh-me"}}}""".Replace("AUTH", Base64("<token>:"), StringComparison.Ordinal));

        var lookup = DockerConfigFile.Load(path)!.Lookup("127.0.0.1:5000");

        Assert.Equal("refresh-me", lookup.Credential?.IdentityToken);
    }

    [Fact]
    public void A_credential_helper_is_not_run_and_the_notice_says_so()
    {
        var path = Write("""{"auths":{"127.0.0.1:5000":{}},"credsStore":"desktop"}""");

        var lookup = DockerConfigFile.Load(path)!.Lookup("127.0.0.1:5000");

        Assert.Null(lookup.Credential);
        Assert.Contains("docker-credential-desktop", lookup.Notice, StringComparison.Ordinal);
    }

    [Fact]
    public void A_registry_without_an_entry_has_no_credential()
    {
        var path = Write("""{"auths":{"other:5000":{"auth":"AUTH"}}}""".Replace("AUTH", Base64("a:b"), StringComparison.Ordinal));

        Assert.Equal(CredentialLookup.None, DockerConfigFile.Load(path)!.Lookup("127.0.0.1:5000"));
    }

    [Fact]
    public void A_missing_file_loads_as_null()
    {
        Assert.Null(DockerConfigFile.Load(Path.Combine(_home.Path, "nothing.json")));
    }

    private string Write(string json)
    {
        var path = DockerConfigFile.DefaultPath(home: _home.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
        return path;
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
