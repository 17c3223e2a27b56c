-- A document system that did not get the answer to a submission (a timeout, a dropped connection, a gateway
-- restarting) sends it again with the same Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header):
-- the key names the submission, so the retry is answered with the document the first attempt stored instead
-- of becoming a second document. request_sha256 fingerprints what was submitted, so that a key reused for a
-- different request is refused rather than answered with the wrong document. Keys are kept with the document.
alter table gateway.outbox
    add column idempotency_key text,
    add column request_sha256  text;
create unique index outbox_idempotency_key on gateway.outbox (idempotency_key) where idempotency_key is not null;
