using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Services;

namespace Registry.Api.Ui.Pages;

/// <summary>A tag or a manifest by digest: platforms of an index, layers and history and config of an image, referrers, raw JSON.</summary>
public sealed class ManifestModel : UiPage
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary><c>NAME:TAG</c> or <c>NAME@DIGEST</c>.</summary>
    [BindProperty(SupportsGet = true)]
    public string Reference { get; set; } = string.Empty;

    [BindProperty(SupportsGet = true)]
    public string? Confirm { get; set; }

    public string Repository { get; private set; } = string.Empty;

    public string? Tag { get; private set; }

    public string Title => Tag is null ? $"{Repository}@{Format.ShortDigest(Details!.Digest)}" : $"{Repository}:{Tag}";

    public ManifestDetails? Details { get; private set; }

    public ImageConfigView? Config { get; private set; }

    public string RawManifest => Pretty(Details!.Payload);

    public string? RawConfig => Details!.Config is { } config ? Pretty(config) : null;

    public bool MayDelete { get; private set; }

    private ManifestReference? _reference;

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ? Page() : NotFound();

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!MayDelete)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        try
        {
            await Service<ManifestService>().DeleteAsync(Repository, _reference!, Author, Aborted);
        }
        catch (RegistryException e) when (e.Error.Code == ErrorCode.Denied.Code)
        {
            // Still listed by an index, or an immutable tag: the reason is shown on the page.
            Error = e.Detail ?? e.Error.Message;
            return Page();
        }

        Flash = Tag is null ? $"Deleted the manifest {Details!.Digest}." : $"Deleted the tag {Tag}.";
        if (await Service<RepositoryService>().FindAsync(Repository, Aborted) is null)
        {
            // That was its last manifest: the repository left the listings, and its page with them.
            Flash += $" {Repository} is empty now and no longer listed.";
            return Redirect("/");
        }

        return Redirect($"/r/{Repository}");
    }

    public string Json(IReadOnlyList<string> values) => JsonSerializer.Serialize(values);

    private async Task<bool> LoadAsync()
    {
        var at = Reference.IndexOf('@', StringComparison.Ordinal);
        var colon = Reference.LastIndexOf(':');
        string value;
        if (at > 0)
        {
            (Repository, value) = (Reference[..at], Reference[(at + 1)..]);
        }
        else if (colon > 0)
        {
            (Repository, value) = (Reference[..colon], Reference[(colon + 1)..]);
        }
        else
        {
            return false;
        }

        if (!RepositoryName.IsValid(Repository) || !ManifestReference.TryParse(value, out _reference, out _, out _)
            || (at > 0) != (_reference.Digest is not null))
        {
            return false;
        }

        Tag = _reference.Tag;
        var actions = await Service<PermissionService>().GetRepositoryActionsAsync(Caller, Repository, Aborted);
        if (!actions.HasFlag(RegistryAction.Pull))
        {
            return false;
        }

        Details = await Service<RepositoryContentService>().GetManifestAsync(Repository, _reference, Aborted);
        if (Details is null)
        {
            return false;
        }

        Config = Details.Config is { } config ? ImageConfigView.Parse(config, Details.Layers) : null;
        MayDelete = actions.HasFlag(RegistryAction.Delete) && Service<IOptions<RegistryStorageOptions>>().Value.DeleteEnabled;
        return true;
    }

    private static string Pretty(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(document.RootElement, Indented);
        }
        catch (JsonException)
        {
            return Encoding.UTF8.GetString(json);
        }
    }
}
