-- Chunks belong to the sender that announced them (issue #16, item 6; docs/security.md), as at the hub (hub 0011):
-- a package id is claimed by the agency that sent its envelope (the inbox) or by this gateway's own writer (the
-- outbox), with its number of chunks; chunks for it from anyone else or past that number are not stored.
create table gateway.package_claims (
    package_id  uuid        primary key,
    owner       text        not null,
    chunks      integer     check (chunks between 1 and 16384),
    bytes       bigint      not null default 0,
    claimed_at  timestamptz not null default now()
);
insert into gateway.package_claims (package_id, owner, chunks, bytes, claimed_at)
    select envelope_id, sender_code, package_chunks, coalesce(package_length, 0), received_at
    from gateway.inbox where package_chunks is not null;
-- The outbox names no sender (it is this gateway's own agency, which the schema does not know): '' holds these ids
-- against everyone else's chunks, and nothing is written into them again.
insert into gateway.package_claims (package_id, owner, chunks, bytes)
    select envelope_id, '', package_chunks, coalesce(package_length, 0)
    from gateway.outbox where package_chunks is not null
    on conflict (package_id) do nothing;
delete from gateway.package_chunks c using gateway.inbox i
    where i.envelope_id = c.package_id and i.package_chunks is not null and c.seq >= i.package_chunks;
delete from gateway.package_chunks c using gateway.outbox o
    where o.envelope_id = c.package_id and o.package_chunks is not null and c.seq >= o.package_chunks;
