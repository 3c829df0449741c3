using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui.Pages.Settings;

/// <summary>The signed-in user's personal access tokens; a new token's secret is shown once, in the answer to its creation.</summary>
public sealed class TokensModel : UiPage
{
    protected override bool RequiresSignIn => true;

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? Scope { get; set; }

    [BindProperty]
    public string? Namespace { get; set; }

    [BindProperty]
    public string? Repository { get; set; }

    [BindProperty]
    public DateOnly? ExpiresOn { get; set; }

    [BindProperty]
    public long Id { get; set; }

    [BindProperty]
    public bool Active { get; set; }

    public CreatedAccessToken? Created { get; private set; }

    public IReadOnlyList<AccessTokenEntity> Tokens { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostCreateAsync()
    {
        var tokens = Service<AccessTokenService>();
        if (!AccessTokenService.TryParseScope(Scope ?? "read", out var scope))
        {
            Error = "Choose a scope.";
        }
        else
        {
            var expires = ExpiresOn?.ToDateTime(TimeOnly.MaxValue, DateTimeKind.Utc);
            await TryAsync(async () =>
            {
                Created = await tokens.CreateAsync(Caller!.UserId, Name ?? string.Empty, scope, Empty(Namespace), Empty(Repository), expires, Aborted);
                var t = Created.Token;
                await Service<AuditLog>().WriteAsync(AuditActions.TokenCreate, Caller.Name, t.Name, detail: $"id={t.Id} scope={AccessTokenService.ScopeName(t.Scope)}");
            });
        }

        // The secret is in this answer only: no redirect, and the page must not be cached.
        Response.Headers.CacheControl = "no-store";
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostActiveAsync()
    {
        var token = await Service<AccessTokenService>().SetActiveAsync(Caller!.UserId, Id, Active, Aborted);
        await Service<AuditLog>().WriteAsync(AuditActions.TokenUpdate, Caller.Name, token.Name, detail: $"id={Id} active={Active}");
        Flash = $"Token \"{token.Name}\" is {(Active ? "active" : "inactive")}.";
        return Redirect("/settings/tokens");
    }

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        var token = await Service<AccessTokenService>().DeleteAsync(Caller!.UserId, Id, Aborted);
        await Service<AuditLog>().WriteAsync(AuditActions.TokenDelete, Caller.Name, token.Name, detail: $"id={Id}");
        Flash = $"Token \"{token.Name}\" deleted.";
        return Redirect("/settings/tokens");
    }

    private async Task LoadAsync() => Tokens = await Service<AccessTokenService>().ListAsync(Caller!.UserId, Aborted);

    private static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
