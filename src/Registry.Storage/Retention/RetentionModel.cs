using Microsoft.EntityFrameworkCore;

namespace Registry.Storage.Retention;

/// <summary>The tables of retention policies and their runs.</summary>
internal static class RetentionModel
{
    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<RetentionPolicyEntity>(e =>
        {
            e.ToTable("retention_policies");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.Namespace).HasColumnName("namespace").HasMaxLength(255);
            e.Property(x => x.Repository).HasColumnName("repository").HasMaxLength(255);
            e.Property(x => x.TagPattern).HasColumnName("tag_pattern").HasMaxLength(RetentionRules.MaxPatternLength);
            e.Property(x => x.KeepMostRecent).HasColumnName("keep_most_recent");
            e.Property(x => x.KeepYoungerThan).HasColumnName("keep_younger_than").HasMaxLength(32);
            e.Property(x => x.KeepPulledWithin).HasColumnName("keep_pulled_within").HasMaxLength(32);
            e.Property(x => x.UntaggedOlderThan).HasColumnName("untagged_older_than").HasMaxLength(32);
            e.Property(x => x.Schedule).HasColumnName("schedule").HasMaxLength(16);
            e.Property(x => x.Enabled).HasColumnName("enabled");
            e.Property(x => x.CreatedBy).HasColumnName("created_by").HasMaxLength(64);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.Property(x => x.LastRunAt).HasColumnName("last_run_at");
            e.Property(x => x.NextRunAt).HasColumnName("next_run_at");
            e.Property(x => x.ClaimedUntil).HasColumnName("claimed_until");
            e.HasIndex(x => x.Namespace);
            e.HasIndex(x => x.NextRunAt);
        });

        modelBuilder.Entity<RetentionRunEntity>(e =>
        {
            e.ToTable("retention_runs");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.PolicyId).HasColumnName("policy_id");
            e.Property(x => x.Actor).HasColumnName("actor").HasMaxLength(64);
            e.Property(x => x.StartedAt).HasColumnName("started_at");
            e.Property(x => x.FinishedAt).HasColumnName("finished_at");
            e.Property(x => x.DeletedTags).HasColumnName("deleted_tags");
            e.Property(x => x.DeletedManifests).HasColumnName("deleted_manifests");
            e.Property(x => x.ReportJson).HasColumnName("report_json");
            e.HasOne<RetentionPolicyEntity>().WithMany().HasForeignKey(x => x.PolicyId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.PolicyId, x.Id });
        });
    }
}
