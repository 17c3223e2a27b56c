-- Every act of signing the hub accepted a message under: the SHA-256 of each valid SignerInfo's signature value
-- (RFC 5652 §5.3), with the envelope or status it came with. The primary key is the replay check: an old
-- signature submitted again under a new envelope or status id is refused as replayed-signature, and two copies
-- racing each other meet in a unique violation. The value, not the digest of the whole CMS, is the key, because
-- a CMS can be re-encoded or stripped of other signers around an unchanged signature value.
create table hub.signature_values (
    value_sha256  text        primary key,
    kind          text        not null check (kind in ('envelope', 'status')),
    message_id    uuid        not null,
    recorded_at   timestamptz not null
);
