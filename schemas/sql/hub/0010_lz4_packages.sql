-- Packages, signatures and receipts are stored compressed with lz4 instead of PostgreSQL's default pglz: a 10 KB
-- document's package passes TOAST compression at every host, and pglz_compress was 3% of the whole machine's CPU
-- under `exchange bench throughput` (docs/performance.md). Applies to values written from now on. A server built
-- without lz4 keeps pglz; nothing else changes.
do $$
begin
    alter table hub.envelopes alter column package set compression lz4, alter column signature set compression lz4;
    alter table hub.deliveries alter column receipt set compression lz4, alter column receipt_signature set compression lz4;
    alter table hub.statuses alter column package set compression lz4, alter column signature set compression lz4;
    alter table hub.package_chunks alter column bytes set compression lz4;
exception when feature_not_supported then
    raise notice 'lz4 is not available on this server; packages stay compressed with pglz';
end
$$;
