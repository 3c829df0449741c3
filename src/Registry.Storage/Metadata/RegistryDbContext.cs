using Microsoft.EntityFrameworkCore;
using Registry.Storage.Nodes;
using Registry.Storage.Retention;
using Registry.Storage.Webhooks;

namespace Registry.Storage.Metadata;

/// <summary>
/// The metadata store. Each database provider has a subclass that owns its migrations
/// (<see cref="SqliteRegistryDbContext"/>, <see cref="PostgresRegistryDbContext"/>).
/// </summary>
public abstract class RegistryDbContext(DbContextOptions options) : DbContext(options)
{
    public const int MaxAccountNameLength = 64;

    public const int MaxDescriptionLength = 4000;

    public DbSet<RepositoryEntity> Repositories => Set<RepositoryEntity>();

    public DbSet<BlobEntity> Blobs => Set<BlobEntity>();

    public DbSet<RepositoryBlobEntity> RepositoryBlobs => Set<RepositoryBlobEntity>();

    public DbSet<ManifestEntity> Manifests => Set<ManifestEntity>();

    public DbSet<ManifestLayerEntity> ManifestLayers => Set<ManifestLayerEntity>();

    public DbSet<ManifestReferenceEntity> ManifestReferences => Set<ManifestReferenceEntity>();

    public DbSet<TagEntity> Tags => Set<TagEntity>();

    public DbSet<UploadEntity> Uploads => Set<UploadEntity>();

    public DbSet<GcBlobReviewEntity> GcBlobReviews => Set<GcBlobReviewEntity>();

    public DbSet<GcManifestReviewEntity> GcManifestReviews => Set<GcManifestReviewEntity>();

    public DbSet<AccountEntity> Accounts => Set<AccountEntity>();

    public DbSet<OrganizationMemberEntity> OrganizationMembers => Set<OrganizationMemberEntity>();

    public DbSet<AccessTokenEntity> AccessTokens => Set<AccessTokenEntity>();

    public DbSet<RefreshTokenEntity> RefreshTokens => Set<RefreshTokenEntity>();

    public DbSet<SigningKeyEntity> SigningKeys => Set<SigningKeyEntity>();

    public DbSet<AuditEventEntity> AuditEvents => Set<AuditEventEntity>();

    public DbSet<LoginThrottleEntity> LoginThrottles => Set<LoginThrottleEntity>();

    public DbSet<DataProtectionKeyEntity> DataProtectionKeys => Set<DataProtectionKeyEntity>();

    public DbSet<Policies.NamespaceQuotaEntity> NamespaceQuotas => Set<Policies.NamespaceQuotaEntity>();

    public DbSet<Policies.ImmutableTagRuleEntity> ImmutableTagRules => Set<Policies.ImmutableTagRuleEntity>();

    public DbSet<RetentionPolicyEntity> RetentionPolicies => Set<RetentionPolicyEntity>();

    public DbSet<RetentionRunEntity> RetentionRuns => Set<RetentionRunEntity>();

    public DbSet<WebhookEntity> Webhooks => Set<WebhookEntity>();

    public DbSet<WebhookDeliveryEntity> WebhookDeliveries => Set<WebhookDeliveryEntity>();

    public DbSet<WebhookAttemptEntity> WebhookAttempts => Set<WebhookAttemptEntity>();

    public DbSet<NodeJoinTokenEntity> NodeJoinTokens => Set<NodeJoinTokenEntity>();

    public DbSet<NodeEntity> Nodes => Set<NodeEntity>();

    public DbSet<NodeContainerEntity> NodeContainers => Set<NodeContainerEntity>();

    public DbSet<NodeContainerLogEntity> NodeContainerLogs => Set<NodeContainerLogEntity>();

    /// <summary>Collation for names whose order the API exposes (catalog, tag lists): byte order.</summary>
    protected virtual string? OrdinalCollation => null;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Every time is stored in UTC; SQLite does not say so when reading back, so it is said here.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<RepositoryEntity>(e =>
        {
            e.ToTable("repositories");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(255).UseCollation(OrdinalCollation);
            e.Property(x => x.Namespace).HasColumnName("namespace").HasMaxLength(255);
            e.Property(x => x.IsPublic).HasColumnName("is_public").HasDefaultValue(false);
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(MaxDescriptionLength);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.EmptiedAt).HasColumnName("emptied_at");
            e.HasIndex(x => x.Name).IsUnique();
            e.HasIndex(x => x.Namespace);
        });

        modelBuilder.Entity<BlobEntity>(e =>
        {
            e.ToTable("blobs");
            e.HasKey(x => x.Digest);
            e.Property(x => x.Digest).HasColumnName("digest").HasMaxLength(150);
            e.Property(x => x.Size).HasColumnName("size");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
        });

        modelBuilder.Entity<RepositoryBlobEntity>(e =>
        {
            e.ToTable("repository_blobs");
            e.HasKey(x => new { x.RepositoryId, x.BlobDigest });
            e.Property(x => x.RepositoryId).HasColumnName("repository_id");
            e.Property(x => x.BlobDigest).HasColumnName("blob_digest").HasMaxLength(150);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.TouchedAt).HasColumnName("touched_at");
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(x => x.RepositoryId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<BlobEntity>().WithMany().HasForeignKey(x => x.BlobDigest).OnDelete(DeleteBehavior.Restrict);
            e.HasIndex(x => x.BlobDigest);
        });

        modelBuilder.Entity<ManifestEntity>(e =>
        {
            e.ToTable("manifests");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.RepositoryId).HasColumnName("repository_id");
            e.Property(x => x.Digest).HasColumnName("digest").HasMaxLength(150);
            e.Property(x => x.MediaType).HasColumnName("media_type").HasMaxLength(255);
            e.Property(x => x.ArtifactType).HasColumnName("artifact_type").HasMaxLength(255);
            e.Property(x => x.Payload).HasColumnName("payload");
            e.Property(x => x.ConfigDigest).HasColumnName("config_digest").HasMaxLength(150);
            e.Property(x => x.ConfigMediaType).HasColumnName("config_media_type").HasMaxLength(255);
            e.Property(x => x.TotalSize).HasColumnName("total_size");
            e.Property(x => x.SubjectDigest).HasColumnName("subject_digest").HasMaxLength(150);
            e.Property(x => x.AnnotationsJson).HasColumnName("annotations_json");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.LastPulledAt).HasColumnName("last_pulled_at");
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(x => x.RepositoryId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.RepositoryId, x.Digest }).IsUnique();
            e.HasIndex(x => new { x.RepositoryId, x.SubjectDigest });
            e.HasIndex(x => x.ConfigDigest);
        });

        modelBuilder.Entity<ManifestLayerEntity>(e =>
        {
            e.ToTable("manifest_layers");
            e.HasKey(x => new { x.ManifestId, x.Position });
            e.Property(x => x.ManifestId).HasColumnName("manifest_id");
            e.Property(x => x.Position).HasColumnName("position");
            e.Property(x => x.Digest).HasColumnName("digest").HasMaxLength(150);
            e.Property(x => x.MediaType).HasColumnName("media_type").HasMaxLength(255);
            e.Property(x => x.Size).HasColumnName("size");
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ManifestId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.Digest);
        });

        modelBuilder.Entity<ManifestReferenceEntity>(e =>
        {
            e.ToTable("manifest_references");
            e.HasKey(x => new { x.ParentId, x.ChildId });
            e.Property(x => x.ParentId).HasColumnName("parent_id");
            e.Property(x => x.ChildId).HasColumnName("child_id");
            e.Property(x => x.Platform).HasColumnName("platform").HasMaxLength(255);
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ParentId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ChildId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.ChildId);
        });

        modelBuilder.Entity<TagEntity>(e =>
        {
            e.ToTable("tags");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.RepositoryId).HasColumnName("repository_id");
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(128).UseCollation(OrdinalCollation);
            e.Property(x => x.ManifestId).HasColumnName("manifest_id");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.Property(x => x.PushedBy).HasColumnName("pushed_by").HasMaxLength(MaxAccountNameLength);
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(x => x.RepositoryId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ManifestId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.RepositoryId, x.Name }).IsUnique();
            e.HasIndex(x => x.ManifestId);
        });

        modelBuilder.Entity<UploadEntity>(e =>
        {
            e.ToTable("uploads");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(64);
            e.Property(x => x.RepositoryName).HasColumnName("repository_name").HasMaxLength(255);
            e.Property(x => x.Owner).HasColumnName("owner").HasMaxLength(MaxAccountNameLength);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.Property(x => x.Writer).HasColumnName("writer").HasMaxLength(64);
            e.Property(x => x.HashState).HasColumnName("hash_state");
            e.Property(x => x.HashOffset).HasColumnName("hash_offset");
            e.HasIndex(x => x.UpdatedAt);
            e.HasIndex(x => x.Owner);
        });

        modelBuilder.Entity<GcBlobReviewEntity>(e =>
        {
            e.ToTable("gc_blob_reviews");
            e.HasKey(x => x.Digest);
            e.Property(x => x.Digest).HasColumnName("digest").HasMaxLength(150);
            e.Property(x => x.ReviewAfter).HasColumnName("review_after");
            e.Property(x => x.Claim).HasColumnName("claim").HasMaxLength(32);
            e.Property(x => x.ClaimedUntil).HasColumnName("claimed_until");
            e.HasIndex(x => x.ReviewAfter);
            e.HasIndex(x => x.Claim);
        });

        modelBuilder.Entity<GcManifestReviewEntity>(e =>
        {
            e.ToTable("gc_manifest_reviews");
            e.HasKey(x => x.ManifestId);
            e.Property(x => x.ManifestId).HasColumnName("manifest_id");
            e.Property(x => x.ReviewAfter).HasColumnName("review_after");
            e.Property(x => x.Claim).HasColumnName("claim").HasMaxLength(32);
            e.Property(x => x.ClaimedUntil).HasColumnName("claimed_until");
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ManifestId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.ReviewAfter);
            e.HasIndex(x => x.Claim);
        });

        OnIdentityModelCreating(modelBuilder);
        Policies.PolicyModel.Configure(modelBuilder);
        RetentionModel.Configure(modelBuilder);
        WebhookModel.Configure(modelBuilder);
        NodeModel.Configure(modelBuilder);
    }

    private void OnIdentityModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<AccountEntity>(e =>
        {
            e.ToTable("accounts");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(MaxAccountNameLength).UseCollation(OrdinalCollation);
            e.Property(x => x.Kind).HasColumnName("kind");
            e.Property(x => x.PasswordHash).HasColumnName("password_hash").HasMaxLength(512);
            e.Property(x => x.IsAdmin).HasColumnName("is_admin");
            e.Property(x => x.IsDisabled).HasColumnName("is_disabled");
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(MaxDescriptionLength);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.LastLoginAt).HasColumnName("last_login_at");
            e.HasIndex(x => x.Name).IsUnique();
        });

        modelBuilder.Entity<OrganizationMemberEntity>(e =>
        {
            e.ToTable("organization_members");
            e.HasKey(x => new { x.OrganizationId, x.UserId });
            e.Property(x => x.OrganizationId).HasColumnName("organization_id");
            e.Property(x => x.UserId).HasColumnName("user_id");
            e.Property(x => x.Role).HasColumnName("role");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.HasOne<AccountEntity>().WithMany().HasForeignKey(x => x.OrganizationId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<AccountEntity>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.UserId);
        });

        modelBuilder.Entity<AccessTokenEntity>(e =>
        {
            e.ToTable("access_tokens");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.UserId).HasColumnName("user_id");
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(100);
            e.Property(x => x.LookupId).HasColumnName("lookup_id").HasMaxLength(32);
            e.Property(x => x.SecretHash).HasColumnName("secret_hash");
            e.Property(x => x.Scope).HasColumnName("scope");
            e.Property(x => x.Namespace).HasColumnName("namespace").HasMaxLength(255);
            e.Property(x => x.Repository).HasColumnName("repository").HasMaxLength(255);
            e.Property(x => x.IsActive).HasColumnName("is_active");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            e.Property(x => x.LastUsedAt).HasColumnName("last_used_at");
            e.HasOne<AccountEntity>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.LookupId).IsUnique();
            e.HasIndex(x => x.UserId);
        });

        modelBuilder.Entity<RefreshTokenEntity>(e =>
        {
            e.ToTable("refresh_tokens");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.UserId).HasColumnName("user_id");
            e.Property(x => x.AccessTokenId).HasColumnName("access_token_id");
            e.Property(x => x.LookupId).HasColumnName("lookup_id").HasMaxLength(32);
            e.Property(x => x.SecretHash).HasColumnName("secret_hash");
            e.Property(x => x.ClientId).HasColumnName("client_id").HasMaxLength(100);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            e.Property(x => x.LastUsedAt).HasColumnName("last_used_at");
            e.HasOne<AccountEntity>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<AccessTokenEntity>().WithMany().HasForeignKey(x => x.AccessTokenId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.LookupId).IsUnique();
            e.HasIndex(x => x.UserId);
            e.HasIndex(x => x.AccessTokenId);
        });

        modelBuilder.Entity<DataProtectionKeyEntity>(e =>
        {
            e.ToTable("data_protection_keys");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.FriendlyName).HasColumnName("friendly_name").HasMaxLength(256);
            e.Property(x => x.Xml).HasColumnName("xml");
        });

        modelBuilder.Entity<SigningKeyEntity>(e =>
        {
            e.ToTable("signing_keys");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(64);
            e.Property(x => x.Algorithm).HasColumnName("algorithm").HasMaxLength(16);
            e.Property(x => x.PrivateKey).HasColumnName("private_key");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.RetiredAt).HasColumnName("retired_at");
        });

        modelBuilder.Entity<AuditEventEntity>(e =>
        {
            e.ToTable("audit_events");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.Time).HasColumnName("time");
            e.Property(x => x.Actor).HasColumnName("actor").HasMaxLength(MaxAccountNameLength);
            e.Property(x => x.ClientAddress).HasColumnName("client_address").HasMaxLength(64);
            e.Property(x => x.Action).HasColumnName("action").HasMaxLength(64);
            e.Property(x => x.Target).HasColumnName("target").HasMaxLength(512);
            e.Property(x => x.Success).HasColumnName("success");
            e.Property(x => x.Detail).HasColumnName("detail").HasMaxLength(2048);
            e.HasIndex(x => x.Time);
            e.HasIndex(x => new { x.Actor, x.Time });
        });

        modelBuilder.Entity<LoginThrottleEntity>(e =>
        {
            e.ToTable("login_throttles");
            e.HasKey(x => x.Key);
            e.Property(x => x.Key).HasColumnName("key").HasMaxLength(400);
            e.Property(x => x.Failures).HasColumnName("failures");
            e.Property(x => x.WindowStart).HasColumnName("window_start");
            e.Property(x => x.BlockedUntil).HasColumnName("blocked_until");
            e.Property(x => x.Lockouts).HasColumnName("lockouts");
            e.Property(x => x.LastSuccessAt).HasColumnName("last_success_at");
        });
    }
}

public sealed class SqliteRegistryDbContext(DbContextOptions<SqliteRegistryDbContext> options) : RegistryDbContext(options);

public sealed class PostgresRegistryDbContext(DbContextOptions<PostgresRegistryDbContext> options) : RegistryDbContext(options)
{
    // The database's default collation may be locale-aware; the API promises lexical (byte) order.
    protected override string? OrdinalCollation => "C";
}

/// <summary>Marks times read from the store as UTC, which is how they were written.</summary>
internal sealed class UtcDateTimeConverter() : Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTime, DateTime>(
    v => v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : DateTime.SpecifyKind(v, DateTimeKind.Utc),
    v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
