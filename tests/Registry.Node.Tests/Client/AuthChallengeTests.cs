using Registry.Node.Client;

namespace Registry.Node.Tests.Client;

public sealed class AuthChallengeTests
{
    [Fact]
    public void A_bearer_challenge_gives_realm_service_and_a_scope_with_commas()
    {
        var challenge = AuthChallenge.Parse(
            "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:team/app:pull,push\"");

        Assert.NotNull(challenge);
        Assert.True(challenge.IsBearer);
        Assert.Equal("https://auth.example.com/token", challenge["realm"]);
        Assert.Equal("registry.example.com", challenge["service"]);
        Assert.Equal("repository:team/app:pull,push", challenge["scope"]);
    }

    [Fact]
    public void A_basic_challenge_gives_its_realm()
    {
        var challenge = AuthChallenge.Parse("Basic realm=\"Registry Realm\"");

        Assert.NotNull(challenge);
        Assert.True(challenge.IsBasic);
        Assert.Equal("Registry Realm", challenge["realm"]);
    }

    [Fact]
    public void Unquoted_values_and_escapes_are_read()
    {
        var challenge = AuthChallenge.Parse("Bearer realm=http://127.0.0.1/token, error=\"invalid_token\", note=\"a \\\"quoted\\\" word\"");

        Assert.NotNull(challenge);
        Assert.Equal("http://127.0.0.1/token", challenge["realm"]);
        Assert.Equal("invalid_token", challenge["error"]);
        Assert.Equal("a \"quoted\" word", challenge["note"]);
    }
}
