-- Hub state: the directory it routes under, the envelopes it accepted or refused, one delivery per
-- recipient, and the evidence of each step. Applied in order by Exchange.Persistence.MigrationRunner.
create schema if not exists hub;

create table hub.directory_versions (
    version        bigint      primary key,
    imported_at    timestamptz not null,
    source_sha256  text        not null,
    content        jsonb       not null
);

create table hub.envelopes (
    envelope_id                uuid        primary key,
    sender_code                text        not null,
    document_id                text,
    subject                    text,
    package                    bytea       not null,
    signature                  bytea       not null,
    package_sha256             text        not null,
    signer_certificate_sha256  text,
    directory_version          bigint,
    state                      text        not null check (state in ('accepted', 'rejected')),
    reason                     text        not null,
    detail                     text        not null,
    submitted_at               timestamptz not null,
    received_at                timestamptz not null
);
create index envelopes_sender on hub.envelopes (sender_code, received_at);

create table hub.deliveries (
    envelope_id        uuid        not null references hub.envelopes (envelope_id),
    recipient_code     text        not null,
    state              text        not null check (state in ('forwarded', 'delivered', 'failed')),
    forwarded_at       timestamptz not null,
    delivered_at       timestamptz,
    receipt_id         uuid        unique,
    receipt            bytea,
    receipt_signature  bytea,
    failure_reason     text,
    primary key (envelope_id, recipient_code)
);
create index deliveries_recipient on hub.deliveries (recipient_code, forwarded_at);

create table hub.evidence (
    seq             bigint generated always as identity primary key,
    evidence_id     uuid        not null unique,
    kind            text        not null,
    envelope_id     uuid        not null,
    recipient_code  text,
    reason          text        not null,
    detail          text        not null,
    package_sha256  text,
    issuer          text        not null,
    issued_at       timestamptz not null
);
create index evidence_envelope on hub.evidence (envelope_id);
