package enroll

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"enrollsftp"
)

// Filter narrows a batch listing; zero fields match everything.
type Filter struct {
	Status string
	Source string
	Since  time.Time
}

const batchColumns = `id, source, file, type, sha256, size, status, rows, accepted, rejected, duplicate,
	pending_kyc, received_at, processed_at, header, file_errors, layout, staged_path, error, superseded_by,
	delivered_at, staged_sha256, encrypted, staged_removed_at, max_reject_ratio`

func scanBatch(row interface{ Scan(...any) error }) (enrollsftp.Batch, error) {
	var b enrollsftp.Batch
	var typ, header, fileErrs string
	err := row.Scan(&b.ID, &b.Source, &b.File, &typ, &b.SHA256, &b.Size, &b.Status, &b.Rows, &b.Accepted,
		&b.Rejected, &b.Duplicate, &b.PendingKYC, &b.ReceivedAt, &b.ProcessedAt, &header, &fileErrs, &b.Layout,
		&b.StagedPath, &b.Error, &b.SupersededBy, &b.DeliveredAt, &b.StagedSHA256, &b.Encrypted,
		&b.StagedRemovedAt, &b.MaxRejectRatio)
	if err != nil {
		return b, err
	}
	b.Type = enrollsftp.FileType(typ)
	if err := json.Unmarshal([]byte(header), &b.Header); err != nil {
		return b, fmt.Errorf("batch %s header: %w", b.ID, err)
	}
	var fe []fileErrorJSON
	if err := json.Unmarshal([]byte(fileErrs), &fe); err != nil {
		return b, fmt.Errorf("batch %s file errors: %w", b.ID, err)
	}
	for _, e := range fe {
		b.FileErrors = append(b.FileErrors, &enrollsftp.Error{Code: enrollsftp.Code(e.Code), Message: e.Message})
	}
	return b, nil
}

// Batches lists batches, oldest first.
func (l *Ledger) Batches(ctx context.Context, f Filter) ([]enrollsftp.Batch, error) {
	q := `SELECT ` + batchColumns + ` FROM batches WHERE 1 = 1`
	var args []any
	switch f.Status {
	case "":
	case enrollsftp.BatchReleased:
		q += ` AND status = 'HELD' AND superseded_by != ''`
	case enrollsftp.BatchHeld:
		// A released batch no longer waits: it lists as RELEASED.
		q += ` AND status = 'HELD' AND superseded_by = ''`
	default:
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Source != "" {
		q += ` AND source = ?`
		args = append(args, f.Source)
	}
	if !f.Since.IsZero() {
		q += ` AND received_at >= ?`
		args = append(args, stamp(f.Since))
	}
	rows, err := l.db.QueryContext(ctx, q+` ORDER BY received_at, rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("enroll: batches: %w", err)
	}
	defer rows.Close()
	var out []enrollsftp.Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("enroll: batches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// ErrBatchNotFound is returned when no batch has the id asked for.
var ErrBatchNotFound = errors.New(string(enrollsftp.BatchNotFound))

// batchNotFound is ErrBatchNotFound for id, saying how long a prefix must be
// when id is shorter.
func batchNotFound(id string) error {
	if len(id) < MinBatchPrefix {
		return fmt.Errorf("%w: %s (a batch id prefix needs at least %d characters)", ErrBatchNotFound, id, MinBatchPrefix)
	}
	return fmt.Errorf("%w: %s", ErrBatchNotFound, id)
}

// ErrBatchAmbiguous is returned for a batch id prefix that more than one
// batch has.
var ErrBatchAmbiguous = errors.New("ambiguous batch id")

// MinBatchPrefix is the shortest id prefix taken for a batch id, as git's.
const MinBatchPrefix = 4

// resolveBatch returns the whole id of the batch id names: the id itself,
// or the one batch whose id starts with it (an operator copies the first
// characters of an id, as of a git commit). Time-ordered ids share their
// leading characters within a night, so a prefix may need to be long.
func resolveBatch(ctx context.Context, q execer, id string) (string, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM batches WHERE id = ?`, id).Scan(&n); err != nil {
		return "", fmt.Errorf("enroll: batch %s: %w", id, err)
	}
	if n > 0 || len(id) < MinBatchPrefix || strings.Trim(id, "0123456789abcdefABCDEF-") != "" {
		return id, nil
	}
	// The id is hex and dashes only, so it holds no LIKE wildcard; the
	// range keeps the look-up on the primary key.
	rows, err := q.QueryContext(ctx, `SELECT id FROM batches WHERE id >= ? AND id < ? ORDER BY id LIMIT 6`,
		strings.ToLower(id), strings.ToLower(id)+"\x7f")
	if err != nil {
		return "", fmt.Errorf("enroll: batch %s: %w", id, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", fmt.Errorf("enroll: batch %s: %w", id, err)
		}
		ids = append(ids, s)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("enroll: batch %s: %w", id, err)
	}
	switch len(ids) {
	case 0:
		return id, nil
	case 1:
		return ids[0], nil
	}
	more := ""
	if len(ids) > 5 {
		ids, more = ids[:5], ", …"
	}
	return "", fmt.Errorf("%w: %s is the start of %s%s; give more of it", ErrBatchAmbiguous, id, strings.Join(ids, ", "), more)
}

// Batch returns one batch, by its id or a unique prefix of it.
func (l *Ledger) Batch(ctx context.Context, id string) (enrollsftp.Batch, error) {
	id, err := resolveBatch(ctx, l.db, id)
	if err != nil {
		return enrollsftp.Batch{}, err
	}
	b, err := scanBatch(l.db.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, batchNotFound(id)
	}
	if err != nil {
		return b, fmt.Errorf("enroll: batch %s: %w", id, err)
	}
	return b, nil
}

// CodeCounts counts a batch's records per code, for `batch show`.
func (l *Ledger) CodeCounts(ctx context.Context, id string) (map[string]int, error) {
	counts := map[string]int{}
	err := eachRecord(ctx, l.db, id)(func(o enrollsftp.Outcome) error {
		for _, c := range splitCodes(o.Codes) {
			counts[c]++
		}
		return nil
	})
	return counts, err
}

func splitCodes(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ';' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// View hands a stored batch (by id or unique prefix) to fn inside one read transaction, so the
// outputs are built from one consistent snapshot.
func (l *Ledger) View(ctx context.Context, id string, fn func(View) error) error {
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("enroll: view: %w", err)
	}
	defer tx.Rollback()
	if id, err = resolveBatch(ctx, tx, id); err != nil {
		return err
	}
	b, err := scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return batchNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("enroll: view %s: %w", id, err)
	}
	return fn(View{Batch: b, Each: eachRecord(ctx, tx, id)})
}

// eachRecord streams a batch's records in line order.
func eachRecord(ctx context.Context, q execer, batch string) func(func(enrollsftp.Outcome) error) error {
	return func(fn func(enrollsftp.Outcome) error) error {
		rows, err := q.QueryContext(ctx, `SELECT line, record_id, employer_id, employee_id, action, status, codes,
			message, per_period, raw FROM batch_records WHERE batch_id = ? ORDER BY line`, batch)
		if err != nil {
			return fmt.Errorf("enroll: records: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o enrollsftp.Outcome
			var raw sql.NullString
			if err := rows.Scan(&o.Line, &o.RecordID, &o.EmployerID, &o.EmployeeID, &o.Action, &o.Status,
				&o.Codes, &o.Message, &o.PerPayPeriod, &raw); err != nil {
				return fmt.Errorf("enroll: records: %w", err)
			}
			if raw.Valid {
				if err := json.Unmarshal([]byte(raw.String), &o.Raw); err != nil {
					return fmt.Errorf("enroll: record line %d: %w", o.Line, err)
				}
			}
			if err := fn(o); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}
