using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Services;

namespace Registry.Api.Ui.Pages;

/// <summary>Explore: the repositories the visitor may pull (public ones, and the signed-in user's own and organizations').</summary>
public sealed class IndexModel : UiPage
{
    public const int PageSize = 20;

    [BindProperty(SupportsGet = true)]
    public string? Q { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Sort { get; set; }

    [BindProperty(SupportsGet = true)]
    public bool Mine { get; set; }

    [BindProperty(Name = "page", SupportsGet = true)]
    public int PageNumber { get; set; } = 1;

    public IReadOnlyList<RepositorySummary> Items { get; private set; } = [];

    public int Total { get; private set; }

    public int Pages => (Total + PageSize - 1) / PageSize;

    public async Task OnGetAsync()
    {
        PageNumber = Math.Max(1, PageNumber);
        var filter = await Service<PermissionService>().ListingFilterAsync(Caller, Aborted);
        if (Mine && Caller is not null)
        {
            // Only the user's own namespace and organizations, not every public repository.
            var own = await Service<PermissionService>().ListingFilterAsync(Caller with { IsAdmin = false }, Aborted);
            filter = own with { IncludePublic = false };
        }

        var sort = Sort == "updated" ? RepositorySort.LastPush : RepositorySort.Name;
        (Items, Total) = await Service<RepositoryService>().ListAsync(filter, ns: null, Q, PageNumber, PageSize, Aborted, sort);
    }

    public string PageLink(int page)
    {
        var query = new QueryBuilder();
        if (!string.IsNullOrEmpty(Q))
        {
            query.Add("q", Q);
        }

        if (!string.IsNullOrEmpty(Sort))
        {
            query.Add("sort", Sort);
        }

        if (Mine)
        {
            query.Add("mine", "true");
        }

        query.Add("page", page.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return "/" + query.ToQueryString();
    }
}
