-- The compliance record. An operator's action (kyc approve, rerun, a HELD
-- batch released with --force) names the operator and keeps their reason;
-- the events a file's rows cause have no actor: their batch and line say
-- where they came from.
ALTER TABLE audit_events ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN reason TEXT NOT NULL DEFAULT '';
-- A batch's history (batch show, audit --batch, report) is found by the
-- batch it concerns: a rerun's event is the new batch's (batch_id) about
-- the old one (entity_id). Only batch events enter this index, a few per
-- file, so the rows of a file pay nothing for it.
CREATE INDEX audit_batch_entity ON audit_events (entity_id) WHERE entity = 'batch';
-- Who approved a person's identity by hand (method MANUAL); '' for the
-- approvals recorded before operators were named.
ALTER TABLE kyc_verifications ADD COLUMN operator TEXT NOT NULL DEFAULT '';
-- What reached a source's outbound folder: each output file uploaded, with
-- the SHA-256 and size of the bytes sent (the sealed file when the source
-- encrypts). A batch delivered again (a rerun, a redelivery) adds rows.
CREATE TABLE deliveries (
    batch_id     TEXT NOT NULL REFERENCES batches (id),
    name         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (batch_id, delivered_at, name)
) WITHOUT ROWID;
