-- What the recipients' document systems did with this agency's documents, as the hub recorded it (ContentHandover,
-- or ContentHandoverFailure with the reason in `failure`): what the national axis's getSentEdocList shows as `done` or
-- `fail` (docs/national-axis.md). A handover after a failure replaces it; nothing replaces a handover.
create table gateway.outbox_handovers (
    envelope_id     uuid        not null references gateway.outbox (envelope_id),
    recipient_code  text        not null,
    handed_over_at  timestamptz not null,
    failure         text,
    primary key (envelope_id, recipient_code)
);
