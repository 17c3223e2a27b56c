-- Checkpoints that commit to every envelope's newest record (issue #16, item 1; docs/evidence.md, "Envelope heads"):
-- with them an evidence bundle proves that it holds all of an envelope's records up to a checkpoint signed long after
-- the last of them, where the chain's runs alone prove it only up to the first checkpoint after that record.
--
-- Both tables hold the state as of the newest checkpoint and change only in the transaction that writes a checkpoint
-- (EvidenceChainStore.SealAsync), so that a bundle read in one snapshot gets a proof against that checkpoint.
-- bucket = the first two bytes of SHA-256 of the envelope id's text form (EnvelopeHeads.BucketOf).
create table hub.envelope_heads (
    envelope_id  uuid   primary key,
    bucket       int    not null,
    record_hash  text   not null,
    chain_index  bigint not null
);

create index envelope_heads_bucket on hub.envelope_heads (bucket, envelope_id);

-- bucket hash = SHA-256(0x00 || for each envelope of the bucket in uuid order: its 16 bytes || record_hash's 32 bytes).
create table hub.envelope_head_buckets (
    bucket int   primary key,
    hash   bytea not null
);

alter table hub.evidence_checkpoints add column envelope_heads_root text;

-- The heads as of the newest checkpoint signed before this migration; records sealed after it enter at the next one.
insert into hub.envelope_heads (envelope_id, bucket, record_hash, chain_index)
select distinct on (envelope_id) envelope_id,
       (get_byte(sha256(convert_to(envelope_id::text, 'UTF8')), 0) << 8) | get_byte(sha256(convert_to(envelope_id::text, 'UTF8')), 1),
       record_hash, chain_index
from hub.evidence
where chain_index <= (select coalesce(max(chain_index), 0) from hub.evidence_checkpoints)
order by envelope_id, chain_index desc;

insert into hub.envelope_head_buckets (bucket, hash)
select bucket, sha256('\x00'::bytea || string_agg(uuid_send(envelope_id) || decode(record_hash, 'hex'), ''::bytea order by envelope_id))
from hub.envelope_heads group by bucket;
