-- The national axis's client protocol at this gateway (docs/national-axis.md).
--
-- Its clients: a document system presents `XroadVnpt-systemid` and proves it holds the secret by an HMAC-SHA256 of
-- the signed headers. Verifying an HMAC needs the key itself, so unlike an API key (kept as a hash) the secret is
-- stored: this table is as sensitive as the agency's signing key and the database's access must be limited alike.
-- A revoked client keeps its row, so the list shows who had access and until when.
create table gateway.vdxp_clients (
    client_id    uuid        primary key,
    system_id    text        not null unique check (length(system_id) between 1 and 100),
    name         text        not null check (length(name) between 1 and 200),
    agency_code  text        not null,
    secret       text        not null check (length(secret) between 8 and 200),
    created_at   timestamptz not null,
    revoked_at   timestamptz
);
create unique index vdxp_clients_active_name on gateway.vdxp_clients (name) where revoked_at is null;

-- What the document system said of an item it received (updateStatus): `processing` keeps it listed; `done` (the
-- handover, gateway.inbox.handed_over_at) and `fail` take it off the list. A failure is reported to the hub once.
alter table gateway.inbox add column taken_state text check (taken_state in ('processing', 'done', 'fail'));
alter table gateway.inbox add column taken_at timestamptz;
alter table gateway.inbox add column failure_reported boolean not null default false;
alter table gateway.statuses add column taken_state text check (taken_state in ('processing', 'done', 'fail'));
alter table gateway.statuses add column taken_at timestamptz;
