using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Nodes;

/// <summary>The tables of join tokens, nodes, the containers placed on them and the containers' log lines.</summary>
public static class NodeModel
{
    public const int MaxNameLength = 63;
    public const int MaxErrorLength = 1024;
    public const int MaxReferenceLength = 512;

    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<NodeJoinTokenEntity>(e =>
        {
            e.ToTable("node_join_tokens");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.LookupId).HasColumnName("lookup_id").HasMaxLength(32);
            e.Property(x => x.SecretHash).HasColumnName("secret_hash");
            e.Property(x => x.Uses).HasColumnName("uses");
            e.Property(x => x.Used).HasColumnName("used");
            e.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.CreatedBy).HasColumnName("created_by").HasMaxLength(RegistryDbContext.MaxAccountNameLength);
            e.HasIndex(x => x.LookupId).IsUnique();
        });

        modelBuilder.Entity<NodeEntity>(e =>
        {
            e.ToTable("nodes");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(MaxNameLength);
            e.Property(x => x.LookupId).HasColumnName("lookup_id").HasMaxLength(32);
            e.Property(x => x.CredentialHash).HasColumnName("credential_hash");
            e.Property(x => x.Labels).HasColumnName("labels");
            e.Property(x => x.Cpus).HasColumnName("cpus");
            e.Property(x => x.MemoryBytes).HasColumnName("memory_bytes");
            e.Property(x => x.DiskFreeBytes).HasColumnName("disk_free_bytes");
            e.Property(x => x.AgentVersion).HasColumnName("agent_version").HasMaxLength(128);
            e.Property(x => x.JoinedAt).HasColumnName("joined_at");
            e.Property(x => x.LastSeenAt).HasColumnName("last_seen_at");
            e.Property(x => x.ClockSkewSeconds).HasColumnName("clock_skew_seconds");
            e.Property(x => x.Cordoned).HasColumnName("cordoned");
            e.Property(x => x.Draining).HasColumnName("draining");
            e.Property(x => x.Generation).HasColumnName("generation");
            e.Property(x => x.AllocatedMemoryBytes).HasColumnName("allocated_memory_bytes");
            e.HasIndex(x => x.Name).IsUnique();
            e.HasIndex(x => x.LookupId).IsUnique();
        });

        modelBuilder.Entity<NodeContainerEntity>(e =>
        {
            e.ToTable("node_containers");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(64);
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(128);
            e.Property(x => x.OwnerId).HasColumnName("owner_id");
            e.Property(x => x.NodeId).HasColumnName("node_id");
            e.Property(x => x.Pinned).HasColumnName("pinned");
            e.Property(x => x.Selector).HasColumnName("selector");
            e.Property(x => x.Reference).HasColumnName("reference").HasMaxLength(MaxReferenceLength);
            e.Property(x => x.Repository).HasColumnName("repository").HasMaxLength(255);
            e.Property(x => x.Digest).HasColumnName("digest").HasMaxLength(150);
            e.Property(x => x.Command).HasColumnName("command");
            e.Property(x => x.Env).HasColumnName("env");
            e.Property(x => x.Ports).HasColumnName("ports");
            e.Property(x => x.Volumes).HasColumnName("volumes");
            e.Property(x => x.MemoryBytes).HasColumnName("memory_bytes");
            e.Property(x => x.Cpus).HasColumnName("cpus");
            e.Property(x => x.Pids).HasColumnName("pids");
            e.Property(x => x.Restart).HasColumnName("restart").HasMaxLength(32);
            e.Property(x => x.Desired).HasColumnName("desired").HasMaxLength(16);
            e.Property(x => x.StartSerial).HasColumnName("start_serial");
            e.Property(x => x.Placement).HasColumnName("placement");
            e.Property(x => x.State).HasColumnName("state").HasMaxLength(16);
            e.Property(x => x.ExitCode).HasColumnName("exit_code");
            e.Property(x => x.RestartCount).HasColumnName("restart_count");
            e.Property(x => x.RestartBase).HasColumnName("restart_base");
            e.Property(x => x.Error).HasColumnName("error").HasMaxLength(MaxErrorLength);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.PlacedAt).HasColumnName("placed_at");
            e.Property(x => x.ReportedAt).HasColumnName("reported_at");
            e.Property(x => x.StartedAt).HasColumnName("started_at");
            e.Property(x => x.FinishedAt).HasColumnName("finished_at");
            e.HasOne<AccountEntity>().WithMany().HasForeignKey(x => x.OwnerId).OnDelete(DeleteBehavior.Cascade);

            // A node is removed only after its containers were moved or failed; the foreign key is the safety net.
            e.HasOne<NodeEntity>().WithMany().HasForeignKey(x => x.NodeId).OnDelete(DeleteBehavior.SetNull);
            e.HasIndex(x => x.NodeId);
            e.HasIndex(x => x.OwnerId);
        });

        modelBuilder.Entity<NodeContainerLogEntity>(e =>
        {
            e.ToTable("node_container_logs");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.ContainerId).HasColumnName("container_id").HasMaxLength(64);
            e.Property(x => x.Placement).HasColumnName("placement");
            e.Property(x => x.Offset).HasColumnName("offset");
            e.Property(x => x.Stream).HasColumnName("stream").HasMaxLength(8);
            e.Property(x => x.Time).HasColumnName("time");
            e.Property(x => x.Text).HasColumnName("text");
            e.HasOne<NodeContainerEntity>().WithMany().HasForeignKey(x => x.ContainerId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.ContainerId, x.Placement, x.Offset }).IsUnique();
        });
    }
}
