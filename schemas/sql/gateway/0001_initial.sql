-- One agency gateway's state: what it sent (outbox, kept until the hub answers, and after as history),
-- the receipts for it, and what it received (inbox, one row per envelope: exactly once).
create schema if not exists gateway;

create table gateway.outbox (
    envelope_id     uuid        primary key,
    document_id     text        not null,
    subject         text        not null,
    recipients      text[]      not null,
    package         bytea       not null,
    signature       bytea       not null,
    package_sha256  text        not null,
    state           text        not null check (state in ('queued', 'submitted', 'accepted', 'rejected')),
    reason          text,
    detail          text,
    -- W3C traceparent of the request that submitted it, so the document's trace continues on the bus.
    trace_parent    text,
    created_at      timestamptz not null,
    updated_at      timestamptz not null
);
create index outbox_queued on gateway.outbox (created_at) where state = 'queued';

create table gateway.outbox_receipts (
    envelope_id     uuid        not null references gateway.outbox (envelope_id),
    recipient_code  text        not null,
    receipt_id      uuid        not null,
    received_at     timestamptz not null,
    confirmed_at    timestamptz not null,
    primary key (envelope_id, recipient_code)
);

create table gateway.inbox (
    envelope_id        uuid        primary key,
    sender_code        text        not null,
    document_id        text        not null,
    subject            text        not null,
    package            bytea       not null,
    signature          bytea       not null,
    package_sha256     text        not null,
    directory_version  bigint      not null,
    trace              jsonb       not null,
    received_at        timestamptz not null,
    receipt_id         uuid        not null unique,
    receipt            bytea       not null,
    receipt_signature  bytea       not null
);
create index inbox_received on gateway.inbox (received_at);
