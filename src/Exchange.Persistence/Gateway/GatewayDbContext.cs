using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Persistence.Gateway;

/// <summary>One agency gateway's database (schema <c>gateway</c>); the schema itself is schemas/sql/gateway.</summary>
public sealed class GatewayDbContext(DbContextOptions<GatewayDbContext> options) : DbContext(options)
{
    public const string Schema = "gateway";

    /// <summary>The ids of every envelope a stored package may belong to (<see cref="PackageStore.SweepOrphansAsync"/>).</summary>
    public const string PackageOwners = "select envelope_id from gateway.outbox union all select envelope_id from gateway.inbox";

    public DbSet<OutboxRow> Outbox => Set<OutboxRow>();
    public DbSet<OutboxReceiptRow> OutboxReceipts => Set<OutboxReceiptRow>();
    public DbSet<InboxRow> Inbox => Set<InboxRow>();
    public DbSet<StatusRow> Statuses => Set<StatusRow>();
    public DbSet<OutboxExpiryRow> OutboxExpiries => Set<OutboxExpiryRow>();
    public DbSet<OutboxHandoverRow> OutboxHandovers => Set<OutboxHandoverRow>();
    public DbSet<ApiClientRow> ApiClients => Set<ApiClientRow>();
    public DbSet<VdxpClientRow> VdxpClients => Set<VdxpClientRow>();
    public DbSet<DirectorySnapshotRow> DirectorySnapshots => Set<DirectorySnapshotRow>();

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
        b.Property(x => x.EnvelopeId).ValueGeneratedNever();
        b.HasMany(x => x.Receipts).WithOne().HasForeignKey(r => r.EnvelopeId);
    }
}

internal sealed class OutboxReceiptConfiguration : IEntityTypeConfiguration<OutboxReceiptRow>
{
    public void Configure(EntityTypeBuilder<OutboxReceiptRow> b)
    {
        b.ToTable("outbox_receipts");
        b.HasKey(x => new { x.EnvelopeId, x.RecipientCode });
    }
}

internal sealed class InboxConfiguration : IEntityTypeConfiguration<InboxRow>
{
    public void Configure(EntityTypeBuilder<InboxRow> b)
    {
        b.ToTable("inbox");
        b.HasKey(x => x.EnvelopeId);
        b.Property(x => x.EnvelopeId).ValueGeneratedNever();
        b.Property(x => x.Trace).HasColumnType("jsonb");
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

internal sealed class OutboxHandoverConfiguration : IEntityTypeConfiguration<OutboxHandoverRow>
{
    public void Configure(EntityTypeBuilder<OutboxHandoverRow> b)
    {
        b.ToTable("outbox_handovers");
        b.HasKey(x => new { x.EnvelopeId, x.RecipientCode });
    }
}

internal sealed class OutboxExpiryConfiguration : IEntityTypeConfiguration<OutboxExpiryRow>
{
    public void Configure(EntityTypeBuilder<OutboxExpiryRow> b)
    {
        b.ToTable("outbox_expiries");
        b.HasKey(x => new { x.EnvelopeId, x.RecipientCode });
    }
}

internal sealed class ApiClientConfiguration : IEntityTypeConfiguration<ApiClientRow>
{
    public void Configure(EntityTypeBuilder<ApiClientRow> b)
    {
        b.ToTable("api_clients");
        b.HasKey(x => x.ClientId);
        b.Property(x => x.ClientId).ValueGeneratedNever();
    }
}

internal sealed class VdxpClientConfiguration : IEntityTypeConfiguration<VdxpClientRow>
{
    public void Configure(EntityTypeBuilder<VdxpClientRow> b)
    {
        b.ToTable("vdxp_clients");
        b.HasKey(x => x.ClientId);
        b.Property(x => x.ClientId).ValueGeneratedNever();
    }
}

internal sealed class DirectorySnapshotConfiguration : IEntityTypeConfiguration<DirectorySnapshotRow>
{
    public void Configure(EntityTypeBuilder<DirectorySnapshotRow> b)
    {
        b.ToTable("directory_snapshots");
        b.HasKey(x => x.Version);
        b.Property(x => x.Version).ValueGeneratedNever();
    }
}
