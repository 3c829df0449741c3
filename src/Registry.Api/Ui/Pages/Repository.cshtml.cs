using System.Globalization;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Api.Ui.Pages;

/// <summary>A repository: description, pull command, tags; settings and deletion for its owners.</summary>
public sealed class RepositoryModel : UiPage
{
    public const int PageSize = 25;

    [BindProperty(SupportsGet = true)]
    public string Name { get; set; } = string.Empty;

    [BindProperty(Name = "tag", SupportsGet = true)]
    public string? TagFilter { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Sort { get; set; }

    [BindProperty(Name = "page", SupportsGet = true)]
    public int PageNumber { get; set; } = 1;

    [BindProperty(SupportsGet = true)]
    public string? Confirm { get; set; }

    [BindProperty]
    public string? Description { get; set; }

    [BindProperty]
    public string? Visibility { get; set; }

    public RepositorySummary? Repository { get; private set; }

    public IReadOnlyList<TagSummary> Tags { get; private set; } = [];

    public int TagTotal { get; private set; }

    public int Pages => (TagTotal + PageSize - 1) / PageSize;

    public bool MayAdminister { get; private set; }

    public bool MayDelete { get; private set; }

    public string PullCommand => $"docker pull {RegistryHost}/{Name}:{(Tags.Count > 0 ? Tags[0].Name : "latest")}";

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ? Page() : NotFound();

    public async Task<IActionResult> OnPostSettingsAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!MayAdminister)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        bool? isPublic = Visibility switch { "public" => true, "private" => false, _ => null };
        var description = Description?.ReplaceLineEndings("\n") ?? string.Empty;
        if (!await TryAsync(async () =>
        {
            await Service<RepositoryService>().UpdateAsync(Name, isPublic, AccountService.ValidateDescription(description), Aborted);
            await Service<AuditLog>().WriteAsync(AuditActions.RepositoryUpdate, Caller!.Name, Name,
                detail: isPublic is null ? "description" : $"visibility={(isPublic.Value ? "public" : "private")}");
        }))
        {
            return Page();
        }

        Flash = "Settings saved.";
        return Redirect($"/r/{Name}");
    }

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!MayAdminister || !MayDelete)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        await Service<RepositoryService>().DeleteAsync(Name, Aborted);
        await Service<AuditLog>().WriteAsync(AuditActions.RepositoryDelete, Caller!.Name, Name);
        Flash = $"Deleted {Name}.";
        return Redirect("/");
    }

    public string PageLink(int page)
    {
        var query = new QueryBuilder();
        if (!string.IsNullOrEmpty(TagFilter))
        {
            query.Add("tag", TagFilter);
        }

        if (!string.IsNullOrEmpty(Sort))
        {
            query.Add("sort", Sort);
        }

        query.Add("page", page.ToString(CultureInfo.InvariantCulture));
        return $"/r/{Name}{query.ToQueryString()}#tags";
    }

    /// <returns>False when the repository does not exist or the visitor may not see it: both are a 404.</returns>
    private async Task<bool> LoadAsync()
    {
        var permissions = Service<PermissionService>();
        if (!RepositoryName.IsValid(Name))
        {
            return false;
        }

        var actions = await permissions.GetRepositoryActionsAsync(Caller, Name, Aborted);
        if (!actions.HasFlag(RegistryAction.Pull) || await Service<RepositoryService>().FindAsync(Name, Aborted) is not { } repository)
        {
            return false;
        }

        Repository = repository;
        MayAdminister = Caller is not null && await permissions.MayAdministerAsync(Caller, Name, Aborted);
        MayDelete = actions.HasFlag(RegistryAction.Delete) && Service<IOptions<RegistryStorageOptions>>().Value.DeleteEnabled;
        PageNumber = Math.Max(1, PageNumber);
        var sort = Sort == "name" ? TagSort.Name : TagSort.Newest;
        (Tags, TagTotal) = await Service<RepositoryContentService>().ListTagsAsync(Name, TagFilter, sort, PageNumber, PageSize, Aborted);
        return true;
    }
}
