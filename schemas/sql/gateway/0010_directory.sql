-- The gateway's copy of the hub's directory (docs/directory.md, "Gateways' copy of the directory"): the newest version
-- the hub sent, which the national axis's protocol (getAgenciesList, getSynchronizeUnit) reads. The hub's directory is
-- public data. One row per version received; the consumer keeps only the highest, so the table holds one row but for
-- a moment. `created_at` is when the hub imported the version, `received_at` when this gateway stored it.
create table gateway.directory_snapshots (
    version      bigint      primary key check (version > 0),
    created_at   timestamptz not null,
    received_at  timestamptz not null,
    content      jsonb       not null
);
