package enroll

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"enrollsftp"
	"enrollsftp/internal/failpoint"
	"enrollsftp/validate"
)

// File describes one input file to process.
type File struct {
	Source     string
	Name       string // base name, as the ack shows it
	Type       enrollsftp.FileType
	Layout     string
	SHA256     string
	Size       int64
	ReceivedAt time.Time
	StagedPath string
	// StagedSHA256 is the staged copy's hash when it differs from SHA256,
	// the received bytes' (the plaintext of an encrypted file).
	StagedSHA256 string
	Encrypted    bool // received as OpenPGP
	Header       []string
	// FileErrors rejects the file before any row is read (bad header, empty).
	FileErrors enrollsftp.Errors
	// MaxRejectRatio > 0 holds a batch whose rejected share exceeds it.
	MaxRejectRatio float64
	// Employers limits the employers rows may name; nil allows any.
	Employers []string
	// Mask hides the SSN and date of birth in a record's raw cells. It runs
	// only for rejected records, the only ones whose cells are stored.
	Mask func(raw []string) []string
	// DryRun evaluates every row and emits outputs, then rolls back.
	DryRun bool
	// BatchID, when set, is the new batch's id (so logs can carry it from
	// the start); otherwise one is made.
	BatchID string
	// RerunOf is the batch this one reprocesses; it is marked superseded.
	RerunOf string
	// Operator is who asked for the rerun, and why: kept with its audit
	// event (RERUN, or RELEASED for a HELD batch).
	Operator Actor
}

// Record is one row handed to the ledger, validated or not.
type Record struct {
	Line       int
	RecordID   string // trimmed, as the ack shows it
	EmployerID string
	EmployeeID string
	Action     string // as the ack shows it: UPSERT, TERMINATE, ENROLL, …
	// Errors are reading and field errors: any rejects the row.
	Errors      enrollsftp.Errors
	Census      *validate.Census
	Election    *validate.Election
	ContentHash string   // of the normalized cells, record_id excluded
	Raw         []string // input cells as read; File.Mask hides what must not be stored
	// Made by Prepare: the idempotency key as stored, the form an older
	// version stored it in, the in-file duplicate key, and the census
	// SSN's match key. ContentHash is the keyed form once idem is set.
	idem, legacy, dedup string
	ssnMAC              []byte
}

// Prepare makes a record's keys (its idempotency and in-file duplicate
// keys, which hold keyed hashes, and a census SSN's match key) ahead of
// Process, which otherwise makes them itself. It only reads the ledger's
// keys, so a reader goroutine may call it while Process applies earlier
// records: the pipeline's read-ahead does, which takes the HMACs off the
// ledger's goroutine.
func (l *Ledger) Prepare(rec *Record) {
	if rec.idem != "" {
		return
	}
	rec.ContentHash = l.keys.Content(rec.ContentHash)
	rec.idem, rec.legacy = l.idemKeys(rec)
	rec.dedup = dedupKey(l.keyed(rec.EmployerID) + "\x1f" + rec.idem)
	if c := rec.Census; c != nil && c.SSN != "" {
		rec.ssnMAC = l.keys.MatchKey(c.SSN)
	}
}

// dedupKey is the in-file duplicate key as stored with each ack line: a
// long one (a content key is ~80 characters) as 43 characters of its
// SHA-256, since a million-row file stores one a row; it is only compared.
func dedupKey(k string) string {
	if len(k) <= 45 {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "h:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// Rows yields records: io.EOF after the last, an *enrollsftp.FileError when
// the rest of the file cannot be read (the whole file is then rejected).
type Rows func() (Record, error)

// View is a batch as the outputs see it. Each may be called more than once,
// and only while the callback that received the View runs.
type View struct {
	Batch enrollsftp.Batch
	Each  func(fn func(enrollsftp.Outcome) error) error
}

// ErrAlreadyProcessed is returned by Process when a batch with the same
// bytes (SHA-256) was already processed; nothing is changed.
var ErrAlreadyProcessed = errors.New(string(enrollsftp.FileAlreadyProcessed))

// Process applies a file in one transaction: the batch, its records, every
// ledger change and audit event commit together or not at all. emit, when
// set, receives the finished batch: after the commit, or inside the
// transaction just before the rollback of a dry run.
func (l *Ledger) Process(ctx context.Context, f File, rows Rows, emit func(View) error) (enrollsftp.Batch, error) {
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return enrollsftp.Batch{}, err
	}
	// Statements run on a context that is never cancelled: with a
	// cancellable one the driver starts a goroutine per statement to watch
	// it, which cost a fifth of the time per row. The caller's context is
	// checked every 1,024 rows and before the commit instead, and the
	// deferred rollback undoes.
	sctx := context.WithoutCancel(ctx)
	defer tx.Rollback()
	now := l.Now().UTC()
	if prior, err := processedBatch(sctx, tx, f.SHA256); err != nil {
		return enrollsftp.Batch{}, err
	} else if prior != "" && prior != f.RerunOf {
		return enrollsftp.Batch{}, fmt.Errorf("%w: the same bytes were processed as batch %s", ErrAlreadyProcessed, prior)
	}
	if f.BatchID == "" {
		f.BatchID = newID()
	}
	b := enrollsftp.Batch{ID: f.BatchID, Source: f.Source, File: f.Name, Type: f.Type, SHA256: f.SHA256,
		Size: f.Size, Status: enrollsftp.BatchReceived, ReceivedAt: stamp(f.ReceivedAt), Header: f.Header,
		Encrypted: f.Encrypted, Layout: f.Layout, MaxRejectRatio: f.MaxRejectRatio}
	header, _ := json.Marshal(nonNil(f.Header))
	insertBatch := func() error {
		if _, err := tx.ExecContext(sctx, `INSERT INTO batches (id, source, file, type, layout, sha256, size, status,
			received_at, header, staged_path, staged_sha256, encrypted, max_reject_ratio) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.Source, b.File, string(b.Type), f.Layout, b.SHA256, b.Size, enrollsftp.BatchReceived, b.ReceivedAt,
			string(header), f.StagedPath, f.StagedSHA256, f.Encrypted, f.MaxRejectRatio); err != nil {
			return fmt.Errorf("enroll: insert batch: %w", err)
		}
		return nil
	}
	if err := insertBatch(); err != nil {
		return b, err
	}
	// A file rejected or held after its rows ran starts over on the same
	// connection, lock held, and writes only its batch (and the held
	// file's records) again. No savepoint spans the file: its journal
	// would keep every page the file touched, and each row's RELEASE walked
	// it (a re-sent 1M census: 470 s, 1.2 GB).
	restart := func() error {
		if err := tx.restart(sctx); err != nil {
			return err
		}
		return insertBatch()
	}
	t := &txn{ctx: sctx, cancel: ctx, tx: tx, l: l, now: now, batch: b.ID, masker: f.Mask, fileType: f.Type,
		allowed: allowSet(f.Employers), w: newWriter(), seen: newLineSet()}
	defer t.closeStmts() // before the deferred rollback hands the connection back
	fileErrs := f.FileErrors
	if len(fileErrs) == 0 {
		fileErrs, err = t.applyAll(&b, rows)
		if err != nil {
			return b, err
		}
	}
	for i, e := range fileErrs {
		scrubbed := *e
		scrubbed.Message = enrollsftp.ScrubSSN(e.Message)
		fileErrs[i] = &scrubbed
	}
	switch {
	case len(fileErrs) > 0:
		// The file is rejected whole: undo every row, keep only the batch.
		t.w.undo(mark{})
		if err := restart(); err != nil {
			return b, err
		}
		b.Status, b.FileErrors = enrollsftp.BatchRejected, fileErrs
		b.Rows, b.Accepted, b.Rejected, b.Duplicate, b.PendingKYC = 0, 0, 0, 0, 0
	case f.MaxRejectRatio > 0 && b.Rows > 0 && float64(b.Rejected)/float64(b.Rows) > f.MaxRejectRatio:
		// Held: keep the records (what each row would do) but apply nothing.
		if err := t.undoKeepingRecords(restart); err != nil {
			return b, err
		}
		b.Status = enrollsftp.BatchHeld
	default:
		b.Status = enrollsftp.BatchApplied
	}
	if err := t.flush(true); err != nil {
		return b, err
	}
	b.ProcessedAt = stamp(now)
	fe, _ := json.Marshal(errorsJSON(b.FileErrors))
	if _, err := tx.ExecContext(sctx, `UPDATE batches SET status = ?, rows = ?, accepted = ?, rejected = ?,
		duplicate = ?, pending_kyc = ?, processed_at = ?, file_errors = ?, version = version + 1 WHERE id = ?`,
		b.Status, b.Rows, b.Accepted, b.Rejected, b.Duplicate, b.PendingKYC, b.ProcessedAt, string(fe), b.ID); err != nil {
		return b, fmt.Errorf("enroll: update batch: %w", err)
	}
	if err := audit(sctx, tx, auditEvent{batch: b.ID, entity: "batch", id: b.ID, action: b.Status, at: now}); err != nil {
		return b, err
	}
	if f.RerunOf != "" {
		var was string
		if err := tx.QueryRowContext(sctx, `SELECT status FROM batches WHERE id = ?`, f.RerunOf).Scan(&was); err != nil {
			return b, fmt.Errorf("enroll: supersede %s: %w", f.RerunOf, err)
		}
		if _, err := tx.ExecContext(sctx, `UPDATE batches SET superseded_by = ?, version = version + 1 WHERE id = ?`,
			b.ID, f.RerunOf); err != nil {
			return b, fmt.Errorf("enroll: supersede %s: %w", f.RerunOf, err)
		}
		action := "RERUN"
		if was == enrollsftp.BatchHeld {
			action = "RELEASED" // rerun --force: the hold is lifted
		}
		if err := audit(sctx, tx, auditEvent{batch: b.ID, entity: "batch", id: f.RerunOf, action: action,
			before: map[string]string{"superseded_by": ""}, after: map[string]string{"superseded_by": b.ID},
			at: now, by: f.Operator.stored()}); err != nil {
			return b, err
		}
	}
	if !f.DryRun {
		if err := t.settleFailures(f, b.ID, b.Status); err != nil {
			return b, err
		}
	}
	if f.DryRun {
		b.DryRun = true
		if emit != nil {
			if err := emit(View{Batch: b, Each: eachRecord(sctx, tx, b.ID)}); err != nil {
				return b, err
			}
		}
		return b, nil // the deferred rollback discards everything
	}
	if err := ctx.Err(); err != nil {
		return b, err
	}
	failpoint.Hit(failpoint.BeforeCommit)
	t.closeStmts()
	if err := tx.Commit(); err != nil {
		return b, fmt.Errorf("enroll: commit: %w", err)
	}
	if emit == nil {
		return b, nil
	}
	return b, l.View(ctx, b.ID, emit)
}

// applyAll applies every row, counting outcomes. It returns file errors when
// the reader rejects the file part-way.
func (t *txn) applyAll(b *enrollsftp.Batch, rows Rows) (enrollsftp.Errors, error) {
	chunk := make([]Record, 0, lookAhead)
	for n := 0; ; {
		// A chunk of rows is read first, so that whether each was applied
		// before is asked in one query for them all (lookAheadApplied).
		chunk = chunk[:0]
		var end error
		for len(chunk) < lookAhead {
			rec, err := rows()
			if err != nil {
				end = err
				break
			}
			chunk = append(chunk, rec)
		}
		if err := t.lookAheadApplied(chunk); err != nil {
			return nil, err
		}
		if err := t.lookAheadRows(chunk); err != nil {
			return nil, err
		}
		for i := range chunk {
			if n%1024 == 0 {
				if err := t.cancel.Err(); err != nil {
					return nil, err
				}
			}
			n++
			if err := t.applyOne(b, chunk[i]); err != nil {
				return nil, err
			}
			chunk[i] = Record{}
		}
		var fe *enrollsftp.FileError
		switch {
		case end == nil:
		case errors.Is(end, io.EOF):
			return nil, t.flush(true)
		case errors.As(end, &fe):
			return fe.Errors, nil // the rows are undone: their buffers are dropped
		default:
			return nil, end
		}
	}
}

// applyOne applies one record and stores its ack line.
func (t *txn) applyOne(b *enrollsftp.Batch, rec Record) error {
	{
		out, dedup, err := t.apply(rec)
		if err == nil {
			err = t.failed
		}
		if err != nil {
			return fmt.Errorf("enroll: line %d: %w", rec.Line, err)
		}
		var raw []string
		if out.Status == enrollsftp.RecordRejected {
			raw = t.mask(rec.Raw)
		}
		if err := t.insertRecord(out, dedup, raw); err != nil {
			return err
		}
		if err := t.flush(false); err != nil {
			return err
		}
		failpoint.Hit(failpoint.MidApply)
		b.Rows++
		switch out.Status {
		case enrollsftp.RecordAccepted:
			b.Accepted++
		case enrollsftp.RecordRejected:
			b.Rejected++
		case enrollsftp.RecordDuplicate:
			b.Duplicate++
		case enrollsftp.RecordPendingKYC:
			b.PendingKYC++
		}
	}
	return nil
}

// insertRecord stores a record's ack line and, for a rejected record, its
// raw cells, already masked.
func (t *txn) insertRecord(o enrollsftp.Outcome, dedup string, raw []string) error {
	// Ack cells echo vendor input; an SSN in any of them (an SSN used as
	// employee number, one in the wrong column, an action cell holding
	// one) is masked before storing, once: outputs are regenerated from
	// what is stored.
	o = enrollsftp.ScrubOutcome(o)
	var rawJSON any // NULL unless rejected: only the error file needs the cells
	if o.Status == enrollsftp.RecordRejected {
		// The file's mask hid the ssn and dob columns and SSN shapes; this
		// holds for any masker a caller passes.
		cells := make([]string, len(raw))
		for i, c := range raw {
			cells[i] = enrollsftp.ScrubSSN(c)
		}
		b, _ := json.Marshal(cells)
		rawJSON = string(b)
	}
	t.w.records.add(t.batch, o.Line, o.RecordID, o.EmployerID, o.EmployeeID, o.Action, o.Status, o.Codes,
		o.Message, o.PerPayPeriod, dedup, rawJSON)
	return nil
}

// processedBatch returns the id of a batch that already took these bytes.
// A FAILED batch never finished, so its bytes may come again; a superseded
// batch counts through the rerun that replaced it.
func processedBatch(ctx context.Context, q execer, sha string) (string, error) {
	var id string
	// Only applied bytes count: a file rejected or held (say, sent with
	// the wrong --type or layout) may come again, under any type.
	err := q.QueryRowContext(ctx, `SELECT id FROM batches WHERE sha256 = ? AND status = 'APPLIED'
		ORDER BY received_at LIMIT 1`, sha).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("enroll: look up sha256: %w", err)
	}
	return id, nil
}

// AlreadyProcessed reports the batch that processed these bytes, if any.
func (l *Ledger) AlreadyProcessed(ctx context.Context, sha string) (string, error) {
	return processedBatch(ctx, l.db, sha)
}

type fileErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errorsJSON(es enrollsftp.Errors) []fileErrorJSON {
	out := make([]fileErrorJSON, 0, len(es))
	for _, e := range es {
		out = append(out, fileErrorJSON{Code: string(e.Code), Message: e.Message})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func allowSet(ids []string) map[string]bool {
	if ids == nil {
		return nil
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// RecordFailure stores a FAILED batch for a file whose processing hit an
// operational error (nothing of it was applied: its transaction rolled
// back). It keeps the staged copy's path, so `rerun` can try again once the
// cause is fixed.
func (l *Ledger) RecordFailure(ctx context.Context, f File, cause error) (enrollsftp.Batch, error) {
	if f.BatchID == "" {
		f.BatchID = newID()
	}
	now := l.Now().UTC()
	msg := cause.Error()
	if f.RerunOf != "" {
		msg = "rerun of " + f.RerunOf + ": " + msg // the earlier batch stays as it was
	}
	b := enrollsftp.Batch{ID: f.BatchID, Source: f.Source, File: f.Name, Type: f.Type, SHA256: f.SHA256, Size: f.Size,
		Status: enrollsftp.BatchFailed, ReceivedAt: stamp(f.ReceivedAt), ProcessedAt: stamp(now),
		StagedPath: f.StagedPath, StagedSHA256: f.StagedSHA256, Encrypted: f.Encrypted, Layout: f.Layout, Error: msg}
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return b, fmt.Errorf("enroll: record failure: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO batches (id, source, file, type, layout, sha256, size, status,
		received_at, processed_at, staged_path, staged_sha256, encrypted, error) VALUES (?, ?, ?, ?, ?, ?, ?, 'FAILED', ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Source, b.File, string(b.Type), b.Layout, b.SHA256, b.Size, b.ReceivedAt, b.ProcessedAt,
		b.StagedPath, b.StagedSHA256, b.Encrypted, b.Error); err != nil {
		return b, fmt.Errorf("enroll: record failure: %w", err)
	}
	if err := audit(ctx, tx, auditEvent{batch: b.ID, entity: "batch", id: b.ID, action: "FAILED",
		after: map[string]string{"error": b.Error}, at: now, by: f.Operator.stored()}); err != nil {
		return b, err
	}
	return b, tx.Commit()
}

// settleFailures marks as superseded by batch id the FAILED batches this
// one settles: a processing failure of the same bytes, and failed downloads
// of the same name from the same source (they have no bytes). Their bytes
// were processed now; a rerun of them would be FILE_ALREADY_PROCESSED, and
// `batches --status FAILED` should list only what still needs attention.
//
// An applied file also settles the earlier REJECTED or HELD batches of its
// bytes (the same file sent first with the wrong type, say): they no
// longer wait for an operator.
func (t *txn) settleFailures(f File, id, status string) error {
	return supersedeFailures(t.ctx, t.tx, id, t.now, `SELECT id FROM batches WHERE superseded_by = ''
		AND id <> ? AND id <> ? AND (
			status = 'FAILED' AND (sha256 = ? OR (sha256 = '' AND source = ? AND file = ?))
			OR ? = 'APPLIED' AND status IN ('REJECTED', 'HELD') AND sha256 = ?)`,
		id, f.RerunOf, f.SHA256, f.Source, f.Name, status, f.SHA256)
}

// SettleDownloadFailures marks the failed downloads of a source's file name
// as superseded by batch by: the file came whole at last, and its bytes
// turned out to be processed already by that batch.
func (l *Ledger) SettleDownloadFailures(ctx context.Context, source, file, by string) error {
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := supersedeFailures(ctx, tx, by, l.Now().UTC(), `SELECT id FROM batches WHERE status = 'FAILED'
		AND superseded_by = '' AND sha256 = '' AND source = ? AND file = ?`, source, file); err != nil {
		return err
	}
	return tx.Commit()
}

// supersedeFailures marks the batches query selects as superseded by batch
// by, each with an audit event.
func supersedeFailures(ctx context.Context, q execer, by string, now time.Time, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("enroll: settle failures: %w", err)
	}
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("enroll: settle failures: %w", err)
		}
		ids = append(ids, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("enroll: settle failures: %w", err)
	}
	for _, old := range ids {
		if _, err := q.ExecContext(ctx, `UPDATE batches SET superseded_by = ?, version = version + 1 WHERE id = ?`,
			by, old); err != nil {
			return fmt.Errorf("enroll: supersede %s: %w", old, err)
		}
		if err := audit(ctx, q, auditEvent{batch: by, entity: "batch", id: old, action: "SUPERSEDED",
			after: map[string]string{"superseded_by": by}, at: now}); err != nil {
			return err
		}
	}
	return nil
}
