-- The callers of this gateway's HTTP API (docs/operations.md, "Gateway API authentication"): one row per API
-- key, holding only the SHA-256 of the key (the key itself is shown once, when it is made, and stored nowhere).
-- A revoked key keeps its row, so the list shows who had access and until when.
create table gateway.api_clients (
    client_id    uuid        primary key,
    name         text        not null check (length(name) between 1 and 200),
    agency_code  text        not null,
    role         text        not null check (role in ('agency', 'auditor', 'operator')),
    key_sha256   bytea       not null unique check (octet_length(key_sha256) = 32),
    created_at   timestamptz not null,
    revoked_at   timestamptz
);
-- A name is a handle for `exchange gateway key revoke --name`: unique among the keys still in force.
create unique index api_clients_active_name on gateway.api_clients (name) where revoked_at is null;
