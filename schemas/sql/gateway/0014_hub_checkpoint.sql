-- The newest signed checkpoint of the hub's evidence chain this gateway was shown (issue #16 item 12,
-- docs/evidence.md, "Anchors"). The hub attaches its newest checkpoint to every EnvelopeAccepted; the gateway keeps
-- the highest chain index whose signature verifies against the pinned hub sealing certificate, so that deleting
-- the hub's newest records together with their checkpoints contradicts what the gateway holds
-- (`exchange gateway checkpoint export`, then `exchange audit verify-log --anchor`). The canonical bytes are kept
-- exactly as signed (RFC 5652 detached signature over them).
create table gateway.hub_checkpoints (
    chain_index   bigint      primary key,
    canonical     bytea       not null,
    signature     bytea       not null,
    certificate   bytea       not null,
    received_at   timestamptz not null
);
