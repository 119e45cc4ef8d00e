-- The hash of a batch's staged copy when it is not the bytes received:
-- an OpenPGP file is staged as its plaintext, while sha256 stays the hash
-- of what the vendor sent (the bytes "processed once" is about). Empty:
-- the staged copy is the received bytes. Rerun checks the staged copy
-- against it.
ALTER TABLE batches ADD COLUMN staged_sha256 TEXT NOT NULL DEFAULT '';
