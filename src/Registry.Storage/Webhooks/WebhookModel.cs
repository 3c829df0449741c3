using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Webhooks;

/// <summary>The tables of webhooks, their deliveries (the outbox) and the attempts of each delivery.</summary>
public static class WebhookModel
{
    public const int MaxUrlLength = 2048;
    public const int MaxErrorLength = 512;

    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<WebhookEntity>(e =>
        {
            e.ToTable("webhooks");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(32);
            e.Property(x => x.AccountId).HasColumnName("account_id");
            e.Property(x => x.Url).HasColumnName("url").HasMaxLength(MaxUrlLength);
            e.Property(x => x.Events).HasColumnName("events");
            e.Property(x => x.SealedSecret).HasColumnName("sealed_secret");
            e.Property(x => x.Enabled).HasColumnName("enabled");
            e.Property(x => x.CreatedBy).HasColumnName("created_by").HasMaxLength(RegistryDbContext.MaxAccountNameLength);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.HasOne<AccountEntity>().WithMany().HasForeignKey(x => x.AccountId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.AccountId);
        });

        modelBuilder.Entity<WebhookDeliveryEntity>(e =>
        {
            e.ToTable("webhook_deliveries");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.WebhookId).HasColumnName("webhook_id").HasMaxLength(32);
            e.Property(x => x.Event).HasColumnName("event").HasMaxLength(16);
            e.Property(x => x.Repository).HasColumnName("repository").HasMaxLength(255);
            e.Property(x => x.Tag).HasColumnName("tag").HasMaxLength(128);
            e.Property(x => x.Digest).HasColumnName("digest").HasMaxLength(150);
            e.Property(x => x.MediaType).HasColumnName("media_type").HasMaxLength(255);
            e.Property(x => x.Actor).HasColumnName("actor").HasMaxLength(RegistryDbContext.MaxAccountNameLength);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.State).HasColumnName("state");
            e.Property(x => x.Attempts).HasColumnName("attempts");
            e.Property(x => x.NextAttemptAt).HasColumnName("next_attempt_at");
            e.Property(x => x.ClaimedUntil).HasColumnName("claimed_until");
            e.Property(x => x.ClaimToken).HasColumnName("claim_token").HasMaxLength(32);
            e.Property(x => x.LastStatusCode).HasColumnName("last_status_code");
            e.Property(x => x.LastError).HasColumnName("last_error").HasMaxLength(MaxErrorLength);
            e.Property(x => x.LastDurationMs).HasColumnName("last_duration_ms");
            e.Property(x => x.CompletedAt).HasColumnName("completed_at");
            e.HasOne<WebhookEntity>().WithMany().HasForeignKey(x => x.WebhookId).OnDelete(DeleteBehavior.Cascade);

            // The dispatchers' query: pending deliveries by due time.
            e.HasIndex(x => new { x.State, x.NextAttemptAt });
            e.HasIndex(x => new { x.WebhookId, x.Id });
            e.HasIndex(x => x.CreatedAt);
        });

        modelBuilder.Entity<WebhookAttemptEntity>(e =>
        {
            e.ToTable("webhook_attempts");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.DeliveryId).HasColumnName("delivery_id");
            e.Property(x => x.Number).HasColumnName("number");
            e.Property(x => x.Time).HasColumnName("time");
            e.Property(x => x.StatusCode).HasColumnName("status_code");
            e.Property(x => x.Error).HasColumnName("error").HasMaxLength(MaxErrorLength);
            e.Property(x => x.DurationMs).HasColumnName("duration_ms");
            e.HasOne<WebhookDeliveryEntity>().WithMany().HasForeignKey(x => x.DeliveryId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => x.DeliveryId);
        });
    }
}
