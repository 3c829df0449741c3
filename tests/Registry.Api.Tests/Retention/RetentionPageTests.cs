using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Retention.RetentionHttp;

namespace Registry.Api.Tests.Retention;

/// <summary>The UI page /namespaces/NS/retention over HTTP: its form's validation and who may open and post it.</summary>
public sealed class RetentionPageTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    [Fact]
    public async Task AnOwnerAddsAPolicyThroughTheFormAndAnInvalidOneShowsWhyAndStoresNothing()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        var session = await SignedInAsync(owner);
        var page = $"/namespaces/{org}/retention";

        using var invalid = await session.PostFormAsync(page, page + "?handler=Create", Form(("KeepMostRecent", "-1")));
        var invalidHtml = await invalid.Content.ReadAsStringAsync();
        var afterInvalid = await PoliciesAsync(owner, org);
        using var valid = await session.PostFormAsync(page, page + "?handler=Create", Form(("KeepMostRecent", "2"), ("TagPattern", "v*"), ("Enabled", "true")));
        var afterValid = await PoliciesAsync(owner, org);

        Assert.Equal(HttpStatusCode.OK, invalid.StatusCode);
        Assert.Contains("keepMostRecent: must be a whole number", invalidHtml, StringComparison.Ordinal);
        Assert.Empty(afterInvalid);
        Assert.Equal(HttpStatusCode.Redirect, valid.StatusCode);
        var policy = Assert.Single(afterValid);
        Assert.Equal("v*", policy.GetProperty("tagPattern").GetString());
        Assert.Equal(2, policy.GetProperty("keepMostRecent").GetInt32());
        Assert.True(policy.GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task MembersAreRefusedOthersSeeNothingAndAnonymousVisitorsAreSentToSignIn()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        var member = await registry.NewUserAsync();
        var stranger = await registry.NewUserAsync();
        await registry.SetMemberAsync(owner, org, member.Name, "maintainer");
        var page = $"/namespaces/{org}/retention";
        var memberSession = await SignedInAsync(member);
        var strangerSession = await SignedInAsync(stranger);

        using var memberGet = await memberSession.GetAsync(page);
        using var memberPost = await memberSession.PostFormAsync("/settings/profile", page + "?handler=Create", Form(("KeepMostRecent", "1")));
        using var strangerGet = await strangerSession.GetAsync(page);
        using var strangerPost = await strangerSession.PostFormAsync("/settings/profile", page + "?handler=Create", Form(("KeepMostRecent", "1")));
        using var anonymous = await new UiSession(registry.CreatePlainClient()).GetAsync(page);

        Assert.Equal(HttpStatusCode.Forbidden, memberGet.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, memberPost.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, strangerGet.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, strangerPost.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.StartsWith("/login", anonymous.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.Empty(await PoliciesAsync(owner, org));
    }

    private async Task<UiSession> SignedInAsync(TestUser user)
    {
        var session = new UiSession(registry.CreatePlainClient());
        using var signIn = await session.SignInAsync(user.Name, user.Password);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        return session;
    }

    private async Task<List<JsonElement>> PoliciesAsync(TestUser owner, string org)
    {
        using var api = registry.CreateApiClient(owner.Name, owner.Password);
        return (await api.GetFromJsonAsync<List<JsonElement>>(PoliciesUrl(org)))!;
    }

    private static Dictionary<string, string> Form(params (string Name, string Value)[] fields) => fields.ToDictionary(f => f.Name, f => f.Value);
}
