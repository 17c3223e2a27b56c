-- The auditors' view (issue #5, docs/audit.md).
--
-- Paper counts: how many documents an agency says it still sent on paper in a month, so that the compliance
-- report can show the electronic share next to the signed share. Reports are appended, never updated: a
-- correction is a newer report, and the report uses the newest one per agency and month, so what was
-- claimed when stays on record.
create table hub.paper_counts (
    report_id    uuid        primary key,
    agency_code  text        not null,
    -- The first day of the month, in Vietnam time (UTC+7), e.g. 2026-11-01 for November 2026.
    month        date        not null check (extract(day from month) = 1),
    paper_count  integer     not null check (paper_count >= 0),
    reported_at  timestamptz not null,
    -- Who reported: 'agency-key' (POST /api/paper-counts with that agency's key) or 'operator' (the CLI).
    source       text        not null check (source in ('agency-key', 'operator')),
    note         text
);
create index paper_counts_month on hub.paper_counts (month, agency_code, reported_at desc);

-- The auditors' search: by edXML DocumentId, and by period across every sender.
create index envelopes_document on hub.envelopes (document_id);
create index envelopes_received on hub.envelopes (received_at);
