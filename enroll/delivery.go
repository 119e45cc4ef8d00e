package enroll

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"enrollsftp"
)

// Undelivered lists a source's finished batches whose outputs have not
// reached the source yet, oldest first.
func (l *Ledger) Undelivered(ctx context.Context, source string) ([]enrollsftp.Batch, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE source = ? AND delivered_at = '' AND superseded_by = '' AND status IN ('APPLIED', 'REJECTED', 'HELD')
		ORDER BY received_at, rowid`, source)
	if err != nil {
		return nil, fmt.Errorf("enroll: undelivered: %w", err)
	}
	defer rows.Close()
	var out []enrollsftp.Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("enroll: undelivered: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Output is one output file delivered: its name as uploaded, and the
// SHA-256 and size of the bytes sent.
type Output struct {
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	DeliveredAt string `json:"delivered_at"` // RFC 3339, UTC; set by MarkDelivered
}

// MarkDelivered records that a batch's outputs reached its source, and
// what was sent (for the compliance report).
func (l *Ledger) MarkDelivered(ctx context.Context, id string, at time.Time, outputs ...Output) error {
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("enroll: delivered: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET delivered_at = ? WHERE id = ?`, stamp(at), id); err != nil {
		return fmt.Errorf("enroll: delivered: %w", err)
	}
	for _, o := range outputs {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO deliveries (batch_id, name, sha256, size, delivered_at)
			VALUES (?, ?, ?, ?, ?)`, id, o.Name, o.SHA256, o.Size, stamp(at)); err != nil {
			return fmt.Errorf("enroll: delivered: %w", err)
		}
	}
	if err := audit(ctx, tx, auditEvent{batch: id, entity: "batch", id: id, action: "DELIVERED", at: at}); err != nil {
		return err
	}
	return tx.Commit()
}

// DownloadFailures counts the failed downloads of a source's file name not
// yet settled (a batch of that name settles them), with when the last was
// recorded and the size the file was listed at then: a file that cannot be
// downloaded is retried with backoff, or at once when it changed.
func (l *Ledger) DownloadFailures(ctx context.Context, source, file string) (n int, last time.Time, size int64, err error) {
	var at sql.NullString
	var sz sql.NullInt64
	err = l.db.QueryRowContext(ctx, `SELECT count(*), max(processed_at),
		(SELECT size FROM batches WHERE source = ?1 AND file = ?2 AND sha256 = '' AND status = 'FAILED'
			AND superseded_by = '' ORDER BY processed_at DESC LIMIT 1)
		FROM batches WHERE source = ?1 AND file = ?2 AND sha256 = '' AND status = 'FAILED' AND superseded_by = ''`,
		source, file).Scan(&n, &at, &sz)
	if err != nil {
		return 0, time.Time{}, 0, fmt.Errorf("enroll: download failures: %w", err)
	}
	if at.Valid {
		last, _ = time.Parse(time.RFC3339, at.String)
	}
	return n, last, sz.Int64, nil
}
