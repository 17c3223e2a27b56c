-- Chunks belong to the sender that announced them (issue #16, item 6; docs/security.md). Before this, a chunk was
-- stored for any package id from anyone, and the evidence bundle joined every stored chunk of an envelope's id, so an
-- agency could add bytes to another agency's package. The first chunk of a package now claims its id for the agency
-- that sent the envelope and for the number of chunks announced; chunks from anyone else, past that number or over
-- the per-package byte limit are not stored. chunks is null only while this host's own writer is still writing.
create table hub.package_claims (
    package_id  uuid        primary key,
    owner       text        not null,
    chunks      integer     check (chunks between 1 and 16384),
    bytes       bigint      not null default 0,
    claimed_at  timestamptz not null default now()
);
-- Stored packages keep their sender. Chunks in flight without an envelope yet get no claim: their envelope is refused
-- as package-incomplete and its gateway's next attempt sends them again.
insert into hub.package_claims (package_id, owner, chunks, bytes, claimed_at)
    select envelope_id, sender_code, package_chunks, coalesce(package_length, 0), received_at
    from hub.envelopes where package_chunks is not null;
-- Whatever was stored past an envelope's count was never part of its package.
delete from hub.package_chunks c using hub.envelopes e
    where e.envelope_id = c.package_id and e.package_chunks is not null and c.seq >= e.package_chunks;
