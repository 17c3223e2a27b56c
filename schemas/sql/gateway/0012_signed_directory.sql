-- The directory as the hub signed it (docs/directory.md, "Signed snapshots"): the document's bytes exactly as signed
-- (jsonb would normalise them, and the signature would no longer verify), the hub's detached CMS over the version and
-- those bytes, and the SHA-256 of the sealing certificate that signed it. Versions stored before were never checked: they
-- are dropped, and the gateway asks the hub for the newest one when it starts.
delete from gateway.directory_snapshots;
alter table gateway.directory_snapshots
    alter column content type text,
    add column signature bytea not null,
    add column signer_sha256 text not null;
