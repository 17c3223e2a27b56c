using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Persistence.Hub;

/// <summary>The hub's database (schema <c>hub</c>); the schema itself is schemas/sql/hub.</summary>
public sealed class HubDbContext(DbContextOptions<HubDbContext> options) : DbContext(options)
{
    public const string Schema = "hub";

    public DbSet<DirectoryVersionRow> DirectoryVersions => Set<DirectoryVersionRow>();
    public DbSet<EnvelopeRow> Envelopes => Set<EnvelopeRow>();
    public DbSet<DeliveryRow> Deliveries => Set<DeliveryRow>();
    public DbSet<EvidenceRow> Evidence => Set<EvidenceRow>();
    public DbSet<StatusRow> Statuses => Set<StatusRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(HubDbContext).Assembly, t => t.Namespace == typeof(HubDbContext).Namespace);
    }
}

internal sealed class DirectoryVersionConfiguration : IEntityTypeConfiguration<DirectoryVersionRow>
{
    public void Configure(EntityTypeBuilder<DirectoryVersionRow> b)
    {
        b.ToTable("directory_versions");
        b.HasKey(x => x.Version);
        b.Property(x => x.Version).HasColumnName("version").ValueGeneratedNever();
        b.Property(x => x.ImportedAt).HasColumnName("imported_at");
        b.Property(x => x.SourceSha256).HasColumnName("source_sha256");
        b.Property(x => x.Content).HasColumnName("content").HasColumnType("jsonb");
    }
}

internal sealed class EnvelopeConfiguration : IEntityTypeConfiguration<EnvelopeRow>
{
    public void Configure(EntityTypeBuilder<EnvelopeRow> b)
    {
        b.ToTable("envelopes");
        b.HasKey(x => x.EnvelopeId);
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id").ValueGeneratedNever();
        b.Property(x => x.SenderCode).HasColumnName("sender_code");
        b.Property(x => x.DocumentId).HasColumnName("document_id");
        b.Property(x => x.Subject).HasColumnName("subject");
        b.Property(x => x.Package).HasColumnName("package");
        b.Property(x => x.Signature).HasColumnName("signature");
        b.Property(x => x.PackageSha256).HasColumnName("package_sha256");
        b.Property(x => x.SignerCertificateSha256).HasColumnName("signer_certificate_sha256");
        b.Property(x => x.Signers).HasColumnName("signers").HasColumnType("jsonb");
        b.Property(x => x.DirectoryVersion).HasColumnName("directory_version");
        b.Property(x => x.State).HasColumnName("state");
        b.Property(x => x.Reason).HasColumnName("reason");
        b.Property(x => x.Detail).HasColumnName("detail");
        b.Property(x => x.SubmittedAt).HasColumnName("submitted_at");
        b.Property(x => x.ReceivedAt).HasColumnName("received_at");
        b.HasMany(x => x.Deliveries).WithOne().HasForeignKey(d => d.EnvelopeId);
    }
}

internal sealed class DeliveryConfiguration : IEntityTypeConfiguration<DeliveryRow>
{
    public void Configure(EntityTypeBuilder<DeliveryRow> b)
    {
        b.ToTable("deliveries");
        b.HasKey(x => new { x.EnvelopeId, x.RecipientCode });
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id");
        b.Property(x => x.RecipientCode).HasColumnName("recipient_code");
        // Two copies of one receipt may be consumed at once: the state is checked on update so only one wins.
        b.Property(x => x.State).HasColumnName("state").IsConcurrencyToken();
        b.Property(x => x.ForwardedAt).HasColumnName("forwarded_at");
        b.Property(x => x.DeliveredAt).HasColumnName("delivered_at");
        b.Property(x => x.ReceiptId).HasColumnName("receipt_id");
        b.Property(x => x.Receipt).HasColumnName("receipt");
        b.Property(x => x.ReceiptSignature).HasColumnName("receipt_signature");
        b.Property(x => x.FailureReason).HasColumnName("failure_reason");
        b.Property(x => x.DueAt).HasColumnName("due_at");
        b.Property(x => x.Attempts).HasColumnName("attempts");
        b.Property(x => x.HandedOverAt).HasColumnName("handed_over_at");
    }
}

internal sealed class EvidenceConfiguration : IEntityTypeConfiguration<EvidenceRow>
{
    public void Configure(EntityTypeBuilder<EvidenceRow> b)
    {
        b.ToTable("evidence");
        b.HasKey(x => x.Seq);
        b.Property(x => x.Seq).HasColumnName("seq").UseIdentityAlwaysColumn();
        b.Property(x => x.EvidenceId).HasColumnName("evidence_id");
        b.Property(x => x.Kind).HasColumnName("kind");
        b.Property(x => x.EnvelopeId).HasColumnName("envelope_id");
        b.Property(x => x.RecipientCode).HasColumnName("recipient_code");
        b.Property(x => x.Reason).HasColumnName("reason");
        b.Property(x => x.Detail).HasColumnName("detail");
        b.Property(x => x.PackageSha256).HasColumnName("package_sha256");
        b.Property(x => x.Issuer).HasColumnName("issuer");
        b.Property(x => x.IssuedAt).HasColumnName("issued_at");
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
        b.Property(x => x.ReporterCode).HasColumnName("reporter_code");
        b.Property(x => x.RecipientCode).HasColumnName("recipient_code");
        b.Property(x => x.StatusCode).HasColumnName("status_code");
        b.Property(x => x.Description).HasColumnName("description");
        b.Property(x => x.StatusTime).HasColumnName("status_time");
        b.Property(x => x.ReceivedAt).HasColumnName("received_at");
        b.Property(x => x.Package).HasColumnName("package");
        b.Property(x => x.Signature).HasColumnName("signature");
        b.Property(x => x.PackageSha256).HasColumnName("package_sha256");
        b.Property(x => x.State).HasColumnName("state");
        b.Property(x => x.Reason).HasColumnName("reason");
    }
}
