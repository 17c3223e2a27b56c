using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Persistence.Gateway;

/// <summary>One agency gateway's database (schema <c>gateway</c>); the schema itself is schemas/sql/gateway.</summary>
public sealed class GatewayDbContext(DbContextOptions<GatewayDbContext> options) : DbContext(options)
{
    public const string Schema = "gateway";

    public DbSet<OutboxRow> Outbox => Set<OutboxRow>();
    public DbSet<OutboxReceiptRow> OutboxReceipts => Set<OutboxReceiptRow>();
    public DbSet<InboxRow> Inbox => Set<InboxRow>();
    public DbSet<StatusRow> Statuses => Set<StatusRow>();
    public DbSet<OutboxExpiryRow> OutboxExpiries => Set<OutboxExpiryRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(GatewayDbContext).Assembly, t => t.Namespace == typeof(GatewayDbContext).Namespace);
    }
}

internal sealed class OutboxConfiguration : IEntityTypeConfiguration<OutboxRow>
{
    public void Configure(EntityTypeBuilder<OutboxRow> b)
    {
        b.ToTable("outbox");
        b.HasKey(x => x.EnvelopeId);
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id").ValueGeneratedNever();
        b.Property(x => x.DocumentId).HasColumnName("document_id");
        b.Property(x => x.Subject).HasColumnName("subject");
        b.Property(x => x.Recipients).HasColumnName("recipients");
        b.Property(x => x.Package).HasColumnName("package");
        b.Property(x => x.Signature).HasColumnName("signature");
        b.Property(x => x.PackageSha256).HasColumnName("package_sha256");
        b.Property(x => x.State).HasColumnName("state");
        b.Property(x => x.Reason).HasColumnName("reason");
        b.Property(x => x.Detail).HasColumnName("detail");
        b.Property(x => x.TraceParent).HasColumnName("trace_parent");
        b.Property(x => x.CreatedAt).HasColumnName("created_at");
        b.Property(x => x.UpdatedAt).HasColumnName("updated_at");
        b.HasMany(x => x.Receipts).WithOne().HasForeignKey(r => r.EnvelopeId);
    }
}

internal sealed class OutboxReceiptConfiguration : IEntityTypeConfiguration<OutboxReceiptRow>
{
    public void Configure(EntityTypeBuilder<OutboxReceiptRow> b)
    {
        b.ToTable("outbox_receipts");
        b.HasKey(x => new { x.EnvelopeId, x.RecipientCode });
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id");
        b.Property(x => x.RecipientCode).HasColumnName("recipient_code");
        b.Property(x => x.ReceiptId).HasColumnName("receipt_id");
        b.Property(x => x.ReceivedAt).HasColumnName("received_at");
        b.Property(x => x.ConfirmedAt).HasColumnName("confirmed_at");
    }
}

internal sealed class InboxConfiguration : IEntityTypeConfiguration<InboxRow>
{
    public void Configure(EntityTypeBuilder<InboxRow> b)
    {
        b.ToTable("inbox");
        b.HasKey(x => x.EnvelopeId);
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id").ValueGeneratedNever();
        b.Property(x => x.SenderCode).HasColumnName("sender_code");
        b.Property(x => x.DocumentId).HasColumnName("document_id");
        b.Property(x => x.Subject).HasColumnName("subject");
        b.Property(x => x.Package).HasColumnName("package");
        b.Property(x => x.Signature).HasColumnName("signature");
        b.Property(x => x.PackageSha256).HasColumnName("package_sha256");
        b.Property(x => x.DirectoryVersion).HasColumnName("directory_version");
        b.Property(x => x.Trace).HasColumnName("trace").HasColumnType("jsonb");
        b.Property(x => x.ReceivedAt).HasColumnName("received_at");
        b.Property(x => x.ReceiptId).HasColumnName("receipt_id");
        b.Property(x => x.Receipt).HasColumnName("receipt");
        b.Property(x => x.ReceiptSignature).HasColumnName("receipt_signature");
        b.Property(x => x.HandedOverAt).HasColumnName("handed_over_at");
        b.Property(x => x.HandoverReported).HasColumnName("handover_reported");
    }
}

internal sealed class StatusConfiguration : IEntityTypeConfiguration<StatusRow>
{
    public void Configure(EntityTypeBuilder<StatusRow> b)
    {
        b.ToTable("statuses");
        b.HasKey(x => x.StatusId);
        b.Property(x => x.StatusId).HasColumnName("status_id").ValueGeneratedNever();
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id");
        b.Property(x => x.Direction).HasColumnName("direction");
        b.Property(x => x.ReporterCode).HasColumnName("reporter_code");
        b.Property(x => x.RecipientCode).HasColumnName("recipient_code");
        b.Property(x => x.StatusCode).HasColumnName("status_code");
        b.Property(x => x.Description).HasColumnName("description");
        b.Property(x => x.StatusTime).HasColumnName("status_time");
        b.Property(x => x.Package).HasColumnName("package");
        b.Property(x => x.Signature).HasColumnName("signature");
        b.Property(x => x.State).HasColumnName("state");
        b.Property(x => x.Reason).HasColumnName("reason");
        b.Property(x => x.Detail).HasColumnName("detail");
        b.Property(x => x.TraceParent).HasColumnName("trace_parent");
        b.Property(x => x.CreatedAt).HasColumnName("created_at");
        b.Property(x => x.UpdatedAt).HasColumnName("updated_at");
    }
}

internal sealed class OutboxExpiryConfiguration : IEntityTypeConfiguration<OutboxExpiryRow>
{
    public void Configure(EntityTypeBuilder<OutboxExpiryRow> b)
    {
        b.ToTable("outbox_expiries");
        b.HasKey(x => new { x.EnvelopeId, x.RecipientCode });
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id");
        b.Property(x => x.RecipientCode).HasColumnName("recipient_code");
        b.Property(x => x.DueAt).HasColumnName("due_at");
        b.Property(x => x.ExpiredAt).HasColumnName("expired_at");
    }
}
