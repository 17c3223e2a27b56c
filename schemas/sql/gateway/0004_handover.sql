-- When the agency's document system first fetched a received package (ContentHandover), and whether the
-- hub has been told; the outbox dispatcher reports it, so a bus outage delays the evidence, never loses it.
alter table gateway.inbox
    add column handed_over_at    timestamptz,
    add column handover_reported boolean not null default false;
create index inbox_handover_unreported on gateway.inbox (handed_over_at) where handed_over_at is not null and not handover_reported;
