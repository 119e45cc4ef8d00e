-- A file received whose bytes a batch had already applied (an exact
-- resend, or the same bytes under another name): answered
-- FILE_ALREADY_PROCESSED, archived, never processed. Processing applied
-- bytes again changes nothing, so it has no batch (`batches` lists what
-- was processed); its receipt is kept here so that the compliance report
-- lists every file received, with the answer delivered for it.
CREATE TABLE refusals (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL DEFAULT '',  -- '' for a local `process`
    file             TEXT NOT NULL,
    type             TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    size             INTEGER NOT NULL,
    received_at      TEXT NOT NULL,
    earlier_batch_id TEXT NOT NULL REFERENCES batches (id)  -- the batch that applied the bytes
);
CREATE INDEX refusals_received ON refusals (received_at);
-- The answer's files as uploaded to the source's outbound folder, with the
-- SHA-256 and size of the bytes sent (as deliveries, for batches). A local
-- refusal's answer is written to --out, not delivered: it has none.
CREATE TABLE refusal_outputs (
    refusal_id   TEXT NOT NULL REFERENCES refusals (id),
    name         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (refusal_id, name)
) WITHOUT ROWID;
