using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui.Pages.Orgs;

/// <summary>The user's organizations (administrators: all of them), and creating one.</summary>
public sealed class OrgsModel : UiPage
{
    protected override bool RequiresSignIn => true;

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? Description { get; set; }

    public IReadOnlyList<(AccountEntity Organization, OrganizationRole? Role)> Organizations { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        var name = Name?.Trim() ?? string.Empty;
        if (!await TryAsync(async () =>
        {
            await Service<AccountService>().CreateOrganizationAsync(name, string.IsNullOrWhiteSpace(Description) ? null : Description.Trim(), Caller!.UserId, adoptRepositories: false, Aborted);
            await Service<AuditLog>().WriteAsync(AuditActions.OrganizationCreate, Caller.Name, name);
        }))
        {
            await LoadAsync();
            return Page();
        }

        Flash = $"Organization {name} created.";
        return Redirect($"/orgs/{name}");
    }

    private async Task LoadAsync()
    {
        var accounts = Service<AccountService>();
        var memberships = await accounts.MembershipsAsync(Caller!.UserId, Aborted);
        if (!Caller.IsAdmin)
        {
            Organizations = memberships.Select(m => (m.Organization, (OrganizationRole?)m.Role)).ToList();
            return;
        }

        var roles = memberships.ToDictionary(m => m.Organization.Id, m => m.Role);
        Organizations = (await accounts.ListAsync(AccountKind.Organization, Aborted))
            .Select(o => (o, roles.TryGetValue(o.Id, out var role) ? role : (OrganizationRole?)null)).ToList();
    }
}
