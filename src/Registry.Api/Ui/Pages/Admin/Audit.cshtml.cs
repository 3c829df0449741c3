using System.Globalization;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui.Pages.Admin;

public sealed class AuditModel : UiPage
{
    public const int PageSize = 100;

    public static readonly string[] Actions = typeof(AuditActions).GetFields()
        .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).Order(StringComparer.Ordinal).ToArray();

    protected override bool RequiresAdmin => true;

    [BindProperty(SupportsGet = true)]
    public string? Actor { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Action { get; set; }

    [BindProperty(SupportsGet = true)]
    public long? Before { get; set; }

    public IReadOnlyList<AuditEventEntity> Events { get; private set; } = [];

    public string OlderLink
    {
        get
        {
            var query = new QueryBuilder();
            if (!string.IsNullOrEmpty(Actor))
            {
                query.Add("actor", Actor);
            }

            if (!string.IsNullOrEmpty(Action))
            {
                query.Add("action", Action);
            }

            query.Add("before", Events[^1].Id.ToString(CultureInfo.InvariantCulture));
            return "/admin/audit" + query.ToQueryString();
        }
    }

    public async Task OnGetAsync() => Events = await Service<AuditLog>().ListAsync(Actor, Action, Before, PageSize, Aborted);
}
