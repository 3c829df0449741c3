using Registry.Core.Access;

namespace Registry.Core.Tests;

public sealed class AuthChallengeTests
{
    [Fact]
    public void A_bearer_challenge_gives_realm_service_and_a_scope_with_commas()
    {
        var challenge = AuthChallenge.Parse(
            "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:team/app:pull,push\"");

        Assert.NotNull(challenge);
        Assert.True(challenge.IsBearer);
        Assert.Equal("https://auth.example.com/token", challenge.Realm);
        Assert.Equal(new Uri("https://auth.example.com/token"), challenge.RealmUri);
        Assert.Equal("registry.example.com", challenge.Service);
        Assert.Equal(["repository:team/app:pull,push"], challenge.Scopes);
    }

    [Fact]
    public void Several_scopes_in_one_scope_value_are_split_on_spaces()
    {
        var challenge = AuthChallenge.Parse(
            "Bearer realm=\"https://auth.example.com/token\",scope=\"repository:team/app:pull,push repository:team/base:pull\"");

        Assert.NotNull(challenge);
        Assert.Equal(["repository:team/app:pull,push", "repository:team/base:pull"], challenge.Scopes);
    }

    [Fact]
    public void A_challenge_without_a_scope_has_no_scopes()
    {
        var challenge = AuthChallenge.Parse("Bearer realm=\"https://auth.example.com/token\"");

        Assert.NotNull(challenge);
        Assert.Empty(challenge.Scopes);
        Assert.Null(challenge.Service);
        Assert.Null(challenge.Error);
    }

    [Fact]
    public void Unquoted_values_and_escaped_quotes_are_read()
    {
        var challenge = AuthChallenge.Parse("Bearer realm=http://127.0.0.1/token, error=\"invalid_token\", note=\"a \\\"quoted\\\" word\"");

        Assert.NotNull(challenge);
        Assert.Equal("http://127.0.0.1/token", challenge.Realm);
        Assert.Equal("invalid_token", challenge.Error);
        Assert.Equal("a \"quoted\" word", challenge["note"]);
    }

    [Fact]
    public void A_quoted_value_keeps_its_commas_and_an_escaped_quote()
    {
        var challenge = AuthChallenge.Parse("Bearer error=\"insufficient_scope\",error_description=\"say \\\"pull,push\\\", then retry\",service=registry");

        Assert.NotNull(challenge);
        Assert.Equal("insufficient_scope", challenge.Error);
        Assert.Equal("say \"pull,push\", then retry", challenge["error_description"]);
        Assert.Equal("registry", challenge.Service);
    }

    [Fact]
    public void Parameter_names_are_case_insensitive()
    {
        var challenge = AuthChallenge.Parse("bearer Realm=\"https://auth.example.com/token\",SERVICE=registry");

        Assert.NotNull(challenge);
        Assert.True(challenge.IsBearer);
        Assert.Equal("https://auth.example.com/token", challenge.Realm);
        Assert.Equal("registry", challenge.Service);
    }

    [Fact]
    public void A_challenge_without_a_realm_has_none()
    {
        var challenge = AuthChallenge.Parse("Bearer service=\"registry.example.com\",scope=\"repository:app:pull\"");

        Assert.NotNull(challenge);
        Assert.Null(challenge.Realm);
        Assert.Null(challenge.RealmUri);
        Assert.Equal(["repository:app:pull"], challenge.Scopes);
    }

    [Fact]
    public void A_relative_realm_is_no_realm_uri()
    {
        var challenge = AuthChallenge.Parse("Bearer realm=\"token\"");

        Assert.NotNull(challenge);
        Assert.Equal("token", challenge.Realm);
        Assert.Null(challenge.RealmUri);
    }

    [Fact]
    public void A_basic_challenge_gives_its_realm()
    {
        var challenge = AuthChallenge.Parse("Basic realm=\"Registry Realm\"");

        Assert.NotNull(challenge);
        Assert.True(challenge.IsBasic);
        Assert.False(challenge.IsBearer);
        Assert.Equal("Registry Realm", challenge.Realm);
    }

    [Fact]
    public void A_scheme_alone_has_no_parameters()
    {
        var challenge = AuthChallenge.Parse("Basic");

        Assert.NotNull(challenge);
        Assert.True(challenge.IsBasic);
        Assert.Empty(challenge.Parameters);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_header_is_no_challenge(string? header)
    {
        Assert.Null(AuthChallenge.Parse(header));
    }
}
