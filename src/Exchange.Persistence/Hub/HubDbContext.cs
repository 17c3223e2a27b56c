using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Persistence.Hub;

/// <summary>The hub's database (schema <c>hub</c>); the schema itself is schemas/sql/hub.</summary>
public sealed class HubDbContext(DbContextOptions<HubDbContext> options) : DbContext(options)
{
    public const string Schema = "hub";

    /// <summary>The ids of every envelope a stored package may belong to (<see cref="PackageStore.SweepOrphansAsync"/>).</summary>
    public const string PackageOwners = "select envelope_id from hub.envelopes";

    public DbSet<DirectoryVersionRow> DirectoryVersions => Set<DirectoryVersionRow>();
    public DbSet<EnvelopeRow> Envelopes => Set<EnvelopeRow>();
    public DbSet<DeliveryRow> Deliveries => Set<DeliveryRow>();
    public DbSet<EvidenceRow> Evidence => Set<EvidenceRow>();
    public DbSet<StatusRow> Statuses => Set<StatusRow>();
    public DbSet<SignatureValueRow> SignatureValues => Set<SignatureValueRow>();

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
        b.Property(x => x.Version).ValueGeneratedNever();
        b.Property(x => x.Content).HasColumnType("jsonb");
    }
}

internal sealed class EnvelopeConfiguration : IEntityTypeConfiguration<EnvelopeRow>
{
    public void Configure(EntityTypeBuilder<EnvelopeRow> b)
    {
        b.ToTable("envelopes");
        b.HasKey(x => x.EnvelopeId);
        b.Property(x => x.EnvelopeId).ValueGeneratedNever();
        b.Property(x => x.Signers).HasColumnType("jsonb");
        b.Property(x => x.Trace).HasColumnType("jsonb");
        b.HasMany(x => x.Deliveries).WithOne().HasForeignKey(d => d.EnvelopeId);
    }
}

internal sealed class DeliveryConfiguration : IEntityTypeConfiguration<DeliveryRow>
{
    public void Configure(EntityTypeBuilder<DeliveryRow> b)
    {
        b.ToTable("deliveries");
        b.HasKey(x => new { x.EnvelopeId, x.RecipientCode });
        // Two copies of one receipt may be consumed at once: the state is checked on update so only one wins.
        b.Property(x => x.State).IsConcurrencyToken();
    }
}

internal sealed class EvidenceConfiguration : IEntityTypeConfiguration<EvidenceRow>
{
    public void Configure(EntityTypeBuilder<EvidenceRow> b)
    {
        b.ToTable("evidence");
        b.HasKey(x => x.Seq);
        b.Property(x => x.Seq).UseIdentityAlwaysColumn();
    }
}

internal sealed class StatusConfiguration : IEntityTypeConfiguration<StatusRow>
{
    public void Configure(EntityTypeBuilder<StatusRow> b)
    {
        b.ToTable("statuses");
        b.HasKey(x => x.StatusId);
        b.Property(x => x.StatusId).ValueGeneratedNever();
    }
}

internal sealed class SignatureValueConfiguration : IEntityTypeConfiguration<SignatureValueRow>
{
    public void Configure(EntityTypeBuilder<SignatureValueRow> b)
    {
        b.ToTable("signature_values");
        b.HasKey(x => x.ValueSha256);
    }
}
