-- Document statuses (edXML status packages, QCVN 102:2016: 01 arrived, 02 refused, 03 accepted and
-- registered, 04 assigned, 05 in progress, 06 done; 13 recall requested by the sender; 15 recall or update
-- agreed; 16 refused). A status is a signed package of its own, reported by one agency about one envelope
-- and routed to another (usually the envelope's sender; for 13, its recipients). Each is also evidence.
create table hub.statuses (
    status_id       uuid        primary key,
    envelope_id     uuid        not null references hub.envelopes (envelope_id),
    reporter_code   text        not null,
    recipient_code  text        not null,
    status_code     smallint    not null,
    description     text,
    status_time     timestamptz not null,
    received_at     timestamptz not null,
    package         bytea       not null,
    signature       bytea       not null,
    package_sha256  text        not null,
    state           text        not null check (state in ('accepted', 'rejected')),
    reason          text        not null
);
create index statuses_envelope on hub.statuses (envelope_id, received_at);
create index statuses_code on hub.statuses (status_code, received_at);
