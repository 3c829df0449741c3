using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui;

/// <summary>
/// Keeps ASP.NET Data Protection's key ring in the metadata database, so that the web UI's cookies and
/// antiforgery tokens survive restarts and are accepted by every replica. Data Protection hands it keys whose secrets
/// are already encrypted (<see cref="Security.KeyRingEncryptor"/>), so the database never holds them in plain text.
/// </summary>
public sealed class DbXmlRepository(IServiceScopeFactory scopes) : IXmlRepository
{
    // Data Protection calls these synchronously, once at start-up and when it rolls a key (every 90 days).
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        return db.DataProtectionKeys.AsNoTracking().OrderBy(k => k.Id).Select(k => k.Xml).ToList()
            .Select(xml => XElement.Parse(xml)).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        db.DataProtectionKeys.Add(new DataProtectionKeyEntity { FriendlyName = friendlyName, Xml = element.ToString(SaveOptions.DisableFormatting) });
        db.SaveChanges();
    }
}
