-- RFC 3161 timestamps of signed evidence checkpoints (issue #16 item 12, docs/evidence.md, "Anchors"). The router's
-- CheckpointTimestamper asks the timestamp authority named by Router:Evidence:TimestampUrl for a token over the
-- newest checkpoint's detached CMS signature (message imprint: its SHA-256) and stores it here with a copy of the
-- checkpoint as signed, so that each row is a self-contained anchor even when its checkpoint row is gone. A separate
-- table, because hub.evidence_checkpoints is append-only: a token arrives after its checkpoint, and a failed TSA
-- request must never hold up sealing.
create table hub.evidence_checkpoint_timestamps (
    chain_index  bigint      primary key,
    -- The checkpoint's canonical bytes (exchange-evidence-checkpoint/1), its detached CMS and the sealing certificate.
    checkpoint   bytea       not null,
    signature    bytea       not null,
    certificate  bytea       not null,
    -- The TimeStampToken (RFC 3161 §2.4.2, a CMS SignedData), its genTime, and when the hub stored it.
    token        bytea       not null,
    gen_time     timestamptz not null,
    stamped_at   timestamptz not null
);

create function hub.evidence_checkpoint_timestamps_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'hub.evidence_checkpoint_timestamps is append-only (checkpoint %)', old.chain_index
        using errcode = 'insufficient_privilege';
end $$;

create trigger evidence_checkpoint_timestamps_append_only before update or delete on hub.evidence_checkpoint_timestamps
    for each row execute function hub.evidence_checkpoint_timestamps_append_only();
