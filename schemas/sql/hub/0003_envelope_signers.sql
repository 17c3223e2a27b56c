-- Every signer of a submission as the hub verified it (subject, issuer, serial, certificate SHA-256,
-- algorithms, signing time, verdict, and whether the directory binds it to the sender). Nghị định 30/2020
-- wants the competent signer's personal signature beside the organisation's; this is what the compliance
-- report counts.
alter table hub.envelopes add column signers jsonb not null default '[]';
