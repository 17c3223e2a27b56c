-- Large packages (docs/performance.md, "Large documents"). A package over the sender's inline limit arrives as chunks
-- ahead of the message that names it; the hub stores it here once, whatever the number of recipients, reads it back
-- as a stream to verify it, and streams it on. package_id is the envelope's id.
create table hub.package_chunks (
    package_id  uuid        not null,
    seq         integer     not null check (seq >= 0),
    bytes       bytea       not null,
    received_at timestamptz not null default now(),
    primary key (package_id, seq)
);
alter table hub.envelopes
    -- Set when the package is stored in package_chunks (then package is empty); null when it travelled inline.
    add column package_length bigint,
    add column package_chunks integer;
