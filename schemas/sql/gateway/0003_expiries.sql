-- Deliveries of this agency's documents that the hub declared expired (deadline and retries spent).
create table gateway.outbox_expiries (
    envelope_id     uuid        not null references gateway.outbox (envelope_id),
    recipient_code  text        not null,
    due_at          timestamptz not null,
    expired_at      timestamptz not null,
    primary key (envelope_id, recipient_code)
);
