package enroll

import (
	"context"

	"database/sql"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"enrollsftp"
)

// txn is one file's transaction: the tx, its fixed clock, the batch.
type txn struct {
	ctx      context.Context // for statements
	cancel   context.Context // the caller's, checked between rows
	tx       sqlTx
	l        *Ledger
	now      time.Time
	batch    string
	masker   func([]string) []string // File.Mask
	line     int                     // the record being applied, for audit events
	idem     string                  // its idempotency key
	fileType enrollsftp.FileType
	allowed  map[string]bool // nil: every employer
	stmts    map[string]*sql.Stmt
	known    map[string]bool // employers seen in this file: they do not change within it
	// Reference data read by this file's rows, which no row changes.
	years    map[[2]string]*planYear // (employer, date) → plan year, nil when none
	plans    map[[3]string]*plan     // (employer, code, plan year) → plan
	codes    map[[2]string]bool      // (employer, code) → the employer has such a plan
	hsaCodes map[[2]string]bool      // (employer, code) of every HSA plan
	freq     map[string]string       // employer → pay frequency
	// w buffers what the file appends and does not read back. Only
	// Process's transaction has one; elsewhere (ApproveKYC) it is nil and
	// audit events are written at once.
	w *writer
	// ahead answers, for the keys of the chunk being applied, whether a
	// record was applied before (lookAheadApplied).
	ahead map[string]*appliedRow
	// ahc answers a chunk's look-ups (lookAheadRows).
	ahc *chunkAhead
	// contentLegacy says, by employer, whether the ledger may hold content
	// keys in their legacy form (idemKeys); absent: not asked yet.
	contentLegacy map[string]bool
	// wrote says the current row has run a statement that changes the
	// ledger: a rule failing after it cannot reject the row alone.
	wrote bool
	// failed is a write that failed where no error could be returned
	// (queryRow); it fails the file.
	failed error
	// seen holds every dedup key of the file so far, by fingerprint.
	seen *lineSet
	// by is the operator whose action this transaction is (ApproveKYC):
	// its unbuffered audit events name them.
	by Actor
}

// stmt returns the transaction's prepared statement for query, preparing
// it on first use: a file runs the same few dozen statements for every
// row, and preparing them once per file instead of once per use is most
// of the difference in speed.
func (t *txn) stmt(query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	s, err := t.tx.PrepareContext(t.ctx, query)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = s
	return s, nil
}

// closeStmts finalizes the prepared statements while the transaction's
// connection is still held: a statement left to the garbage collector is
// finalized from another goroutine, later.
func (t *txn) closeStmts() {
	for q, s := range t.stmts {
		s.Close()
		delete(t.stmts, q)
	}
}

// exec runs a statement that changes the ledger for the current row.
func (t *txn) exec(query string, args ...any) (sql.Result, error) {
	t.wrote = true
	if err := t.readBack(query); err != nil {
		return nil, err
	}
	return t.execStmt(query, args...)
}

// execStmt runs a statement on behalf of no row (buffered rows written).
func (t *txn) execStmt(query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(t.ctx, args...)
}

func (t *txn) query(query string, args ...any) (*sql.Rows, error) {
	if err := t.readBack(query); err != nil {
		return nil, err
	}
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(t.ctx, args...)
}

// queryRow never fails itself: a preparation error surfaces from Scan. A
// failure to write the read-back buffers first is kept in t.failed: the
// file fails after the row (applyOne).
func (t *txn) queryRow(query string, args ...any) *sql.Row {
	if err := t.readBack(query); err != nil && t.failed == nil {
		t.failed = err
	}
	s, err := t.stmt(query)
	if err != nil {
		return t.tx.QueryRowContext(t.ctx, query, args...) // reports the same error on Scan
	}
	return s.QueryRowContext(t.ctx, args...)
}

// today is "now" as an ISO date, for comparing with ledger dates.
func (t *txn) today() string { return t.now.Format(isoDate) }

// apply decides one record's outcome and, when it is accepted, changes the
// ledger. The order of checks: reading and field errors, authorization,
// duplicates within the file, replays of applied records, domain rules.
func (t *txn) apply(rec Record) (out enrollsftp.Outcome, dedup string, err error) {
	out = enrollsftp.Outcome{Line: rec.Line, RecordID: rec.RecordID, EmployerID: rec.EmployerID,
		EmployeeID: rec.EmployeeID, Action: rec.Action}
	t.l.Prepare(&rec)
	key, dedup := rec.idem, rec.dedup
	t.line, t.idem = rec.Line, key

	errs := append(enrollsftp.Errors(nil), rec.Errors...)
	if first, err := t.seenInFile(dedup, rec.Line); err != nil {
		return out, dedup, err
	} else if first > 0 {
		what := "the same record"
		if rec.RecordID != "" {
			what = rec.RecordID
		}
		errs = append(errs, enrollsftp.Errorf(enrollsftp.DuplicateRecordInFile, "record_id",
			fmt.Sprintf("%s already appears on line %d", what, first)))
	}
	if len(errs) == 0 {
		errs = t.authorize(rec)
	}
	if len(errs) > 0 {
		return rejected(out, errs), dedup, nil
	}

	var prior struct {
		hash, batch string
		line        int
	}
	keys := t.lookupKeys(&rec)
	for i, k := range keys {
		if p, ok := t.ahead[rec.EmployerID+"\x1f"+k]; ok { // asked with the chunk
			err = sql.ErrNoRows
			if p != nil {
				prior.hash, prior.batch, prior.line, err = p.hash, p.batch, p.line, nil
			}
		} else {
			err = t.queryRow(`SELECT content_hash, batch_id, line FROM applied_records
				WHERE employer_id = ? AND file_type = ? AND idem_key = ?`, rec.EmployerID, string(t.fileType), k).
				Scan(&prior.hash, &prior.batch, &prior.line)
		}
		if i == len(keys)-1 || !errors.Is(err, sql.ErrNoRows) {
			break
		}
	}
	switch {
	case err == nil && (prior.hash == rec.ContentHash || prior.hash == ""): // "": the key holds the hash
		out.Status = enrollsftp.RecordDuplicate
		out.Message = fmt.Sprintf("already applied by batch %s line %d", prior.batch, prior.line)
		return out, dedup, nil
	case err == nil:
		return rejected(out, enrollsftp.Errors{enrollsftp.Errorf(enrollsftp.RecordIDReused, "record_id",
			fmt.Sprintf("record_id %s was applied by batch %s line %d with different content", rec.RecordID, prior.batch, prior.line))}), dedup, nil
	case !errors.Is(err, sql.ErrNoRows):
		return out, dedup, fmt.Errorf("look up applied record: %w", err)
	}

	// A row runs in no savepoint (each cost a sub-journal of the pages it
	// touched): every rule that rejects a row is checked before the row's
	// first write. A domain error after one (a version conflict, which a
	// lone writer cannot meet) fails the file instead of leaving half a row
	// behind; buffered rows are dropped (mark, undo).
	var mark mark
	if t.w != nil {
		mark = t.w.mark()
	}
	t.wrote = false
	var res result
	var derr error
	if rec.Census != nil {
		res, derr = t.census(rec.Census)
	} else {
		res, derr = t.election(rec.Election)
	}
	var domain *enrollsftp.Error
	if errors.As(derr, &domain) && t.wrote {
		return out, dedup, fmt.Errorf("enroll: %s after the row's first write: %s", domain.Code, domain.Message)
	}
	if errors.As(derr, &domain) {
		if t.w != nil {
			t.w.undo(mark)
		}
		return rejected(out, enrollsftp.Errors{domain}), dedup, nil
	}
	if derr != nil {
		return out, dedup, derr
	}
	// Buffered: no later row of the file reads it, as a repeated key is
	// rejected by the in-file check (seenInFile) before this replay check.
	hash := rec.ContentHash
	if rec.RecordID == "" {
		hash = "" // the key holds it
	}
	t.w.applied.add(rec.EmployerID, string(t.fileType), key, hash, t.batch, rec.Line)
	out.Status = enrollsftp.RecordAccepted
	if res.pending {
		out.Status = enrollsftp.RecordPendingKYC
	}
	if res.action != "" {
		out.Action = res.action
	}
	out.Codes, out.Message = res.warnings.Codes(), res.warnings.Messages()
	if res.perPeriod != nil {
		out.PerPayPeriod = enrollsftp.FormatCents(*res.perPeriod)
	}
	return out, dedup, nil
}

// idemKeys returns a record's idempotency key as stored, and the form an
// older version stored it in (legacy; the same for most), from its keyed
// content hash (see Keys.Content; Prepare).
//
// A record without a record_id is keyed by its content: the employee id
// that went into the hash, then the hash. The employee id first keeps a
// vendor's keys in the order of its file (a nightly census sorted by
// employee reads and writes the idempotency ledger in key order instead of
// at a random place per row); equal content still means an equal key.
// Before, the key was the hash alone (legacy), which a ledger may still
// hold: contentLegacy says whether to look for it too.
func (l *Ledger) idemKeys(rec *Record) (key, legacy string) {
	if rec.RecordID == "" {
		return contentKeyPrefix + l.keyed(hashedEmployee(rec)) + "\x1f" + rec.ContentHash, "hmac:" + rec.ContentHash
	}
	// An SSN-shaped record_id is kept only keyed, as the content hash is:
	// the ack shows it masked, and the stored keys must still tell apart
	// two ids that mask alike. Before, it was kept as sent: a replay is
	// still looked for under that too (legacy).
	return l.keyed(rec.RecordID), rec.RecordID
}

// contentKeyPrefix starts the idempotency key of a record without a
// record_id. Such a key holds the content hash, so the stored content_hash
// is left empty.
const contentKeyPrefix = "c:"

// hashedEmployee is the employee id as the record's content hash took it:
// the validated value, else the cell trimmed and upper-cased
// (validate.CensusFingerprint, ElectionFingerprint).
func hashedEmployee(rec *Record) string {
	switch {
	case rec.Census != nil:
		return rec.Census.EmployeeID
	case rec.Election != nil:
		return rec.Election.EmployeeID
	}
	return strings.ToUpper(strings.TrimSpace(rec.EmployeeID))
}

// lookupKeys are the keys under which a record may have been applied
// before: its key, and its legacy form when the ledger may hold it.
func (t *txn) lookupKeys(rec *Record) []string {
	t.l.Prepare(rec)
	key, legacy := rec.idem, rec.legacy
	if legacy == key || rec.RecordID == "" && !t.contentLegacy[rec.EmployerID] {
		return []string{key}
	}
	return []string{key, legacy}
}

// hasContentLegacy says whether the ledger holds any content key in the
// legacy form (hmac: and 64 hex digits) for the employer and file type.
func (t *txn) hasContentLegacy(employer string) (bool, error) {
	var one int
	err := t.queryRow(`SELECT 1 FROM applied_records WHERE employer_id = ? AND file_type = ?
		AND idem_key >= 'hmac:0' AND idem_key < 'hmac:g' LIMIT 1`, employer, string(t.fileType)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// lookAhead is how many rows are read before they are applied, so that the
// idempotency ledger is asked about all of them in one query per employer
// instead of one query a row: a nightly full file is mostly rows applied
// before, each a DUPLICATE after that look-up.
const lookAhead = 256

// appliedRow is an applied_records row: a record applied before.
type appliedRow struct {
	hash, batch string
	line        int
}

// lookAheadApplied asks which records of the chunk were applied before,
// by their (current) idempotency keys, sorted, and keeps the answers in
// t.ahead for apply: nil for a key not applied. The answers hold for the
// whole chunk: a row applied within it makes any later row with its key a
// duplicate in the file, which apply finds first.
func (t *txn) lookAheadApplied(chunk []Record) error {
	clear(t.ahead)
	if t.ahead == nil {
		t.ahead = map[string]*appliedRow{}
	}
	byEmployer := map[string][]string{}
	for i := range chunk {
		e := chunk[i].EmployerID
		if _, asked := t.contentLegacy[e]; !asked && chunk[i].RecordID == "" {
			has, err := t.hasContentLegacy(e)
			if err != nil {
				return fmt.Errorf("enroll: look up applied records: %w", err)
			}
			if t.contentLegacy == nil {
				t.contentLegacy = map[string]bool{}
			}
			t.contentLegacy[e] = has
		}
		for _, key := range t.lookupKeys(&chunk[i]) {
			if _, dup := t.ahead[e+"\x1f"+key]; !dup {
				t.ahead[e+"\x1f"+key] = nil
				byEmployer[e] = append(byEmployer[e], key)
			}
		}
	}
	for employer, keys := range byEmployer {
		slices.Sort(keys)
		args := make([]any, 0, len(keys)+2)
		args = append(args, employer, string(t.fileType))
		for _, k := range keys {
			args = append(args, k)
		}
		rows, err := t.query(`SELECT idem_key, content_hash, batch_id, line FROM applied_records
			WHERE employer_id = ? AND file_type = ? AND idem_key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("enroll: look up applied records: %w", err)
		}
		for rows.Next() {
			var k string
			var p appliedRow
			if err := rows.Scan(&k, &p.hash, &p.batch, &p.line); err != nil {
				rows.Close()
				return fmt.Errorf("enroll: look up applied records: %w", err)
			}
			t.ahead[employer+"\x1f"+k] = &p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("enroll: look up applied records: %w", err)
		}
	}
	return nil
}

// result is what an applied record reports back for its ack line.
type result struct {
	action    string // overrides the record's, e.g. TERMINATE
	pending   bool   // PENDING_KYC
	warnings  enrollsftp.Errors
	perPeriod *int64
}

func rejected(out enrollsftp.Outcome, errs enrollsftp.Errors) enrollsftp.Outcome {
	out.Status = enrollsftp.RecordRejected
	out.Codes, out.Message = errs.Codes(), errs.Messages()
	return out
}

// seenInFile returns the line of an earlier record of this batch with the
// same employer and idempotency key, or 0, and remembers this line's key.
func (t *txn) seenInFile(dedup string, line int) (int, error) {
	first := 0
	err := t.seen.candidates(dedup, func(l int) (bool, error) {
		k, err := t.dedupKeyOf(l)
		if k == dedup {
			first = l
		}
		return first > 0, err
	})
	if err == nil && first == 0 {
		t.seen.add(dedup, line)
	}
	return first, err
}

// dedupKeyOf returns the dedup key stored with a line of this batch, from
// the buffer when it is not written yet.
func (t *txn) dedupKeyOf(line int) (string, error) {
	b := t.w.records
	w := len(b.cols)
	for i := 0; i < b.rows(); i++ {
		if b.args[i*w+recordsLine] == line {
			return b.args[i*w+recordsDedup].(string), nil
		}
	}
	var k string
	err := t.queryRow(`SELECT dedup_key FROM batch_records WHERE batch_id = ? AND line = ?`, t.batch, line).Scan(&k)
	if err != nil {
		return "", fmt.Errorf("enroll: in-file duplicate of line %d: %w", line, err)
	}
	return k, nil
}

// authorize rejects rows for employers the source does not serve (SPEC §7).
func (t *txn) authorize(rec Record) enrollsftp.Errors {
	if t.allowed == nil {
		return nil
	}
	ids := []string{rec.EmployerID}
	if e := rec.Election; e != nil && e.TransferEmployerID != "" {
		ids = append(ids, e.TransferEmployerID)
	}
	for _, id := range ids {
		if !t.allowed[id] {
			return enrollsftp.Errors{enrollsftp.Errorf(enrollsftp.EmployerNotAuthorized, "employer_id",
				fmt.Sprintf("this source may not send records for employer %s", id))}
		}
	}
	return nil
}

// undoKeepingRecords rolls back every change of the file but its batch
// records, for a HELD batch: the records say what each row would do. They
// are spooled to a temporary file, not memory, so a held file of any size
// fits.
func (t *txn) undoKeepingRecords(restart func() error) error {
	spool, err := os.CreateTemp("", "enrollsftp-held-*")
	if err != nil {
		return fmt.Errorf("enroll: hold: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	if err := t.flush(true); err != nil {
		return err
	}
	type held struct {
		O     enrollsftp.Outcome
		Dedup string
		Raw   sql.NullString
	}
	enc := gob.NewEncoder(spool)
	rows, err := t.query(`SELECT line, record_id, employer_id, employee_id, action, status,
		codes, message, per_period, dedup_key, raw FROM batch_records WHERE batch_id = ? ORDER BY line`, t.batch)
	if err != nil {
		return fmt.Errorf("enroll: hold: %w", err)
	}
	n := 0
	for rows.Next() {
		var h held
		o := &h.O
		if err := rows.Scan(&o.Line, &o.RecordID, &o.EmployerID, &o.EmployeeID, &o.Action, &o.Status,
			&o.Codes, &o.Message, &o.PerPayPeriod, &h.Dedup, &h.Raw); err != nil {
			rows.Close()
			return fmt.Errorf("enroll: hold: %w", err)
		}
		if err := enc.Encode(h); err != nil {
			rows.Close()
			return fmt.Errorf("enroll: hold: %w", err)
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("enroll: hold: %w", err)
	}
	if err := restart(); err != nil {
		return fmt.Errorf("enroll: hold: %w", err)
	}
	if _, err := spool.Seek(0, 0); err != nil {
		return fmt.Errorf("enroll: hold: %w", err)
	}
	dec := gob.NewDecoder(spool)
	for i := 0; i < n; i++ {
		var h held
		if err := dec.Decode(&h); err != nil {
			return fmt.Errorf("enroll: hold: %w", err)
		}
		var raw []string
		if h.Raw.Valid {
			_ = json.Unmarshal([]byte(h.Raw.String), &raw)
		}
		if err := t.insertRecord(h.O, h.Dedup, raw); err != nil {
			return err
		}
	}
	return nil
}

// auditEvent is one append-only entry: what changed, from what, to what.
type auditEvent struct {
	batch, entity, id, action string
	line                      int
	idem                      string
	before, after             any
	at                        time.Time
	// by is the operator who acted, when one did (kyc approve, rerun).
	by Actor
}

func auditJSON(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func audit(ctx context.Context, q execer, e auditEvent) error {
	bj, aj := snapshots(e.before, e.after)
	_, err := q.ExecContext(ctx, `INSERT INTO audit_events (batch_id, line, idem_key, entity, entity_id,
		action, before, after, at, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.batch, e.line, e.idem, e.entity, e.id, e.action, bj, aj, stamp(e.at), e.by.Name, e.by.Reason)
	if err != nil {
		return fmt.Errorf("enroll: audit: %w", err)
	}
	return nil
}

// snapshots are an event's before and after as stored: JSON, and for a
// change of an existing row only the fields that changed.
func snapshots(before, after any) (string, string) {
	if before != nil && after != nil {
		if bj, aj, ok := structDiff(before, after); ok {
			return bj, aj
		}
	}
	bj, aj := auditJSON(before), auditJSON(after)
	if bj != "" && aj != "" {
		return changed(bj, aj)
	}
	return bj, aj
}

// changed reduces the JSON snapshots of a row before and after a change to
// the fields that differ, each side with its own values: what an UPDATE
// event keeps. The CREATE event holds the whole row once, so the history
// of every field can still be rebuilt; an update event no longer repeats
// the fields it did not touch (a person is ~600 bytes a snapshot).
func changed(before, after string) (string, string) {
	var b, a map[string]json.RawMessage
	if json.Unmarshal([]byte(before), &b) != nil || json.Unmarshal([]byte(after), &a) != nil {
		return before, after // not two objects: kept whole
	}
	for k, v := range a {
		if old, ok := b[k]; ok && string(old) == string(v) {
			delete(a, k)
			delete(b, k)
		}
	}
	bj, _ := json.Marshal(b) // map keys sorted: stable bytes
	aj, _ := json.Marshal(a)
	return string(bj), string(aj)
}

// audit records a change made by the current record.
func (t *txn) audit(entity, id, action string, before, after any) error {
	if t.w != nil {
		bj, aj := snapshots(before, after)
		t.w.audit.add(t.batch, t.line, t.idem, entity, id, action, bj, aj, stamp(t.now))
		return nil
	}
	return audit(t.ctx, t, auditEvent{batch: t.batch, line: t.line, idem: t.idem, entity: entity, id: id,
		action: action, before: before, after: after, at: t.now, by: t.by})
}

// update runs an optimistic-locking UPDATE (its last argument is the
// version read): no row changed means someone else changed it first.
func (t *txn) update(query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return enrollsftp.Errorf(enrollsftp.VersionConflict, "", "the record changed while it was being updated")
	}
	return nil
}

// ExecContext, QueryContext and QueryRowContext make a txn an execer, so
// helpers shared with other transactions run on its prepared statements.
func (t *txn) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	return t.exec(q, args...)
}

func (t *txn) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.query(q, args...)
}

func (t *txn) QueryRowContext(_ context.Context, q string, args ...any) *sql.Row {
	return t.queryRow(q, args...)
}

// keyed returns an idempotency or dedup key as it is stored: as is, or,
// when it holds an SSN shape, a keyed hash of it. These keys are only
// compared, never shown, so a hash serves as well as the text.
func (l *Ledger) keyed(k string) string {
	if !enrollsftp.HoldsSSN(k) {
		return k
	}
	return "hmac:key:" + l.keys.Content("key\x1f"+k)
}

// mask applies the file's mask to raw cells; without one (a caller that
// built Records by hand) every SSN- and date-shaped value is hidden.
func (t *txn) mask(raw []string) []string {
	if t.masker != nil {
		return t.masker(raw)
	}
	out := make([]string, len(raw))
	for i, c := range raw {
		out[i] = enrollsftp.ScrubSensitive(c)
	}
	return out
}
