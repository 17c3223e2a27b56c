-- Each evidence record also links to its envelope's previous record (issue #16, item 1; docs/evidence.md, "Record
-- format 2"): envelope_prev_hash is the record_hash of the same envelope's record before it in the chain, 64 zeros for
-- its first. With it an evidence bundle, which carries only the runs of the chain around one envelope's records, shows
-- a record of that envelope left out from between two others. Records sealed before this migration keep it NULL and
-- their format 1 hash.
alter table hub.evidence add column envelope_prev_hash text;

alter table hub.evidence drop constraint evidence_sealed_together;
alter table hub.evidence add constraint evidence_sealed_together check (
    (chain_index is null and prev_hash is null and record_hash is null and envelope_prev_hash is null)
    or (chain_index is not null and prev_hash is not null and record_hash is not null));
