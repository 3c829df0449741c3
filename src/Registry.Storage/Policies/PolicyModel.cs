using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Policies;

/// <summary>The tables of quotas and immutable-tag rules, and the index the usage count needs.</summary>
internal static class PolicyModel
{
    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<NamespaceQuotaEntity>(e =>
        {
            e.ToTable("namespace_quotas");
            e.HasKey(x => x.Namespace);
            e.Property(x => x.Namespace).HasColumnName("namespace").HasMaxLength(255);
            e.Property(x => x.LimitBytes).HasColumnName("limit_bytes");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.Property(x => x.UpdatedBy).HasColumnName("updated_by").HasMaxLength(RegistryDbContext.MaxAccountNameLength);
        });

        modelBuilder.Entity<ImmutableTagRuleEntity>(e =>
        {
            e.ToTable("immutable_tag_rules");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.Namespace).HasColumnName("namespace").HasMaxLength(255);
            e.Property(x => x.Repository).HasColumnName("repository").HasMaxLength(255);
            e.Property(x => x.Pattern).HasColumnName("pattern").HasMaxLength(TagPattern.MaxLength);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.CreatedBy).HasColumnName("created_by").HasMaxLength(RegistryDbContext.MaxAccountNameLength);
            e.HasIndex(x => new { x.Namespace, x.Repository });
        });

    }
}
