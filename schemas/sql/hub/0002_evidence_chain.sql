-- Tamper-evident evidence (issue #5, docs/evidence.md). Consumers keep inserting evidence rows unsealed, in the
-- transaction of the state they prove; the router's EvidenceSealer later chains them in seq order under an
-- advisory lock (chain_index = previous + 1, prev_hash = the previous record's hash, record_hash = SHA-256 of
-- the record's canonical bytes) and signs a checkpoint of the chain every N records or T seconds.

alter table hub.evidence
    add column chain_index bigint unique,
    add column prev_hash   text,
    add column record_hash text,
    add constraint evidence_sealed_together check (
        (chain_index is null and prev_hash is null and record_hash is null)
        or (chain_index is not null and prev_hash is not null and record_hash is not null));

-- The sealer's scan: unsealed rows in seq order.
create index evidence_unsealed on hub.evidence (seq) where chain_index is null;

create table hub.evidence_checkpoints (
    chain_index  bigint      primary key,
    record_hash  text        not null,
    sealed_at    timestamptz not null,
    -- Detached CMS (RFC 5652) by the hub's sealing certificate over the checkpoint's canonical bytes.
    signature    bytea       not null,
    -- The sealing certificate (DER), so that a verifier can tell which key signed without parsing the CMS.
    certificate  bytea       not null
);

-- Append-only: a sealed record is never updated or deleted by the hub. This stops mistakes, not an owner of the
-- database (who can disable the trigger); what stops the owner is the chain, which verify-log checks.
create function hub.evidence_append_only() returns trigger language plpgsql as $$
begin
    if old.chain_index is not null then
        raise exception 'hub.evidence row % is sealed (chain_index %): evidence is append-only', old.evidence_id, old.chain_index
            using errcode = 'insufficient_privilege';
    end if;
    return case when tg_op = 'DELETE' then old else new end;
end $$;

create trigger evidence_append_only before update or delete on hub.evidence
    for each row execute function hub.evidence_append_only();

create function hub.evidence_checkpoints_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'hub.evidence_checkpoints is append-only (checkpoint %)', old.chain_index
        using errcode = 'insufficient_privilege';
end $$;

create trigger evidence_checkpoints_append_only before update or delete on hub.evidence_checkpoints
    for each row execute function hub.evidence_checkpoints_append_only();
