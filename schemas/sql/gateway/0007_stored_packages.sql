-- Large packages (docs/performance.md, "Large documents"): a package over the inline limit is stored here in chunks,
-- once, and streamed: to the hub from the outbox, to the document system from the inbox. package_id is the envelope's id.
create table gateway.package_chunks (
    package_id  uuid        not null,
    seq         integer     not null check (seq >= 0),
    bytes       bytea       not null,
    received_at timestamptz not null default now(),
    primary key (package_id, seq)
);
-- Set when the package is stored in package_chunks (then package is empty); null when it is inline.
alter table gateway.outbox
    add column package_length bigint,
    add column package_chunks integer;
alter table gateway.inbox
    add column package_length bigint,
    add column package_chunks integer;
