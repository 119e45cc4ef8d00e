package enroll

import (
	"context"
	"fmt"
	"time"

	"enrollsftp"
)

// Refusal is the receipt of a file whose bytes a batch had already
// applied, sent again under its own name or another: it was answered
// FILE_ALREADY_PROCESSED and never processed. The ledger keeps no batch of
// it (processing applied bytes again changes nothing, and `batches` lists
// what was processed), but the compliance report lists every file
// received: this is what it lists.
type Refusal struct {
	ID             string
	Source         string // "" for a local `process`
	File           string
	Type           enrollsftp.FileType
	SHA256         string
	Size           int64
	ReceivedAt     string // RFC 3339, UTC
	EarlierBatchID string // the batch that applied the bytes
	// Outputs are the answer's files delivered to the source, by name;
	// none for a local file, whose answer is written to --out.
	Outputs []Output
}

// RecordRefusal records, in one transaction, that file f was received and
// refused because batch earlier had applied its bytes, with the files of
// its answer delivered to its source at delivered (none for a local file).
// f's Source, Name, Type, SHA256, Size and ReceivedAt are kept. It returns
// the refusal's id.
func (l *Ledger) RecordRefusal(ctx context.Context, f File, earlier string, delivered time.Time, outputs ...Output) (string, error) {
	id := newID()
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return "", fmt.Errorf("enroll: record refusal: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO refusals (id, source, file, type, sha256, size, received_at,
		earlier_batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, f.Source, f.Name, string(f.Type), f.SHA256, f.Size,
		stamp(f.ReceivedAt), earlier); err != nil {
		return "", fmt.Errorf("enroll: record refusal: %w", err)
	}
	for _, o := range outputs {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO refusal_outputs (refusal_id, name, sha256, size,
			delivered_at) VALUES (?, ?, ?, ?, ?)`, id, o.Name, o.SHA256, o.Size, stamp(delivered)); err != nil {
			return "", fmt.Errorf("enroll: record refusal: %w", err)
		}
	}
	return id, tx.Commit()
}

// periodRefusals are the refusals of the files received in the period,
// with their outputs.
func periodRefusals(ctx context.Context, tx execer, f PeriodFilter) ([]Refusal, error) {
	cond, args := f.sourceCond("source", "?")
	rows, err := tx.QueryContext(ctx, `SELECT id, source, file, type, sha256, size, received_at, earlier_batch_id
		FROM refusals WHERE received_at >= ? AND received_at < ?`+cond+` ORDER BY received_at, rowid`,
		append([]any{stamp(f.Since), stamp(f.Until)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	var out []Refusal
	for rows.Next() {
		var r Refusal
		var typ string
		if err := rows.Scan(&r.ID, &r.Source, &r.File, &typ, &r.SHA256, &r.Size, &r.ReceivedAt, &r.EarlierBatchID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("enroll: period: %w", err)
		}
		r.Type = enrollsftp.FileType(typ)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	for i := range out {
		if out[i].Outputs, err = outputs(ctx, tx, `SELECT name, sha256, size, delivered_at FROM refusal_outputs
			WHERE refusal_id = ? ORDER BY delivered_at, name`, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// outputs reads output rows (name, sha256, size, delivered_at).
func outputs(ctx context.Context, tx execer, query string, args ...any) ([]Output, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	defer rows.Close()
	var out []Output
	for rows.Next() {
		var o Output
		if err := rows.Scan(&o.Name, &o.SHA256, &o.Size, &o.DeliveredAt); err != nil {
			return nil, fmt.Errorf("enroll: period: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
