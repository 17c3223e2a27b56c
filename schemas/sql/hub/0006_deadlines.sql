-- Delivery deadlines by priority (QCVN 102:2016 OtherInfo/Priority: 0 thường, 1 khẩn, 2 thượng khẩn,
-- 3 hỏa tốc, 4 hỏa tốc hẹn giờ). A delivery not confirmed by its due time is forwarded again; once its
-- retries are spent it expires, with AcceptanceRejectionExpiry evidence. A receipt that arrives later
-- still records the delivery.
alter table hub.deliveries
    add column due_at   timestamptz,
    add column attempts integer not null default 1,
    -- When the recipient's document system fetched the package (ContentHandover evidence, recorded once).
    add column handed_over_at timestamptz;
alter table hub.deliveries drop constraint deliveries_state_check;
alter table hub.deliveries add constraint deliveries_state_check
    check (state in ('forwarded', 'delivered', 'failed', 'expired'));
create index deliveries_due on hub.deliveries (due_at) where state = 'forwarded';
