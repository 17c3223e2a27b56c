-- Document statuses this gateway's agency reported (sent) or was told about (received), as signed edXML
-- status packages (QCVN 102:2016). Sent statuses are stored first and handed to the bus by the outbox
-- dispatcher, like documents: nothing reported is lost while the bus or hub is down.
create table gateway.statuses (
    status_id       uuid        primary key,
    envelope_id     uuid        not null,
    direction       text        not null check (direction in ('sent', 'received')),
    reporter_code   text        not null,
    recipient_code  text        not null,
    status_code     smallint    not null,
    description     text,
    status_time     timestamptz not null,
    package         bytea       not null,
    signature       bytea       not null,
    state           text        not null check (state in ('queued', 'submitted', 'accepted', 'rejected', 'received')),
    reason          text,
    detail          text,
    trace_parent    text,
    created_at      timestamptz not null,
    updated_at      timestamptz not null
);
create index statuses_envelope on gateway.statuses (envelope_id, status_time);
create index statuses_queued on gateway.statuses (created_at) where state = 'queued';
