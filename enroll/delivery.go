package enroll

import (
	"context"
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

// MarkDelivered records that a batch's outputs reached its source.
func (l *Ledger) MarkDelivered(ctx context.Context, id string, at time.Time) error {
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("enroll: delivered: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET delivered_at = ? WHERE id = ?`, stamp(at), id); err != nil {
		return fmt.Errorf("enroll: delivered: %w", err)
	}
	if err := audit(ctx, tx, auditEvent{batch: id, entity: "batch", id: id, action: "DELIVERED", at: at}); err != nil {
		return err
	}
	return tx.Commit()
}
