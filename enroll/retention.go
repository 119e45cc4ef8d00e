package enroll

import (
	"context"
	"fmt"
	"time"
)

// StagingKey is the secret staged copies are encrypted under, derived from
// the ledger's master key (see Keys.Staging).
func (l *Ledger) StagingKey() []byte { return l.keys.Staging() }

// StagedExpired lists the staged copies that no batch needs any more: every
// batch recorded with the path is APPLIED or superseded by a rerun, and
// the last of them was processed before cutoff. A copy that a FAILED,
// REJECTED or HELD batch (not yet rerun) or a batch in progress still
// refers to is kept whatever its age: rerun reads it. Reruns share the
// staged copy of the batch they supersede, hence the grouping by path.
func (l *Ledger) StagedExpired(ctx context.Context, cutoff time.Time) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT staged_path FROM batches
		WHERE staged_path != '' AND staged_removed_at = ''
		GROUP BY staged_path
		HAVING SUM(status = 'APPLIED' OR superseded_by != '') = COUNT(*) AND MAX(processed_at) < ?
		ORDER BY staged_path`, stamp(cutoff))
	if err != nil {
		return nil, fmt.Errorf("enroll: staged copies past retention: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("enroll: staged copies past retention: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// MarkStagedRemoved records that the staged copy at path was deleted by
// retention, on every batch that named it, with an audit event each.
func (l *Ledger) MarkStagedRemoved(ctx context.Context, path string, at time.Time) error {
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("enroll: staged removed: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id FROM batches WHERE staged_path = ? AND staged_removed_at = ''`, path)
	if err != nil {
		return fmt.Errorf("enroll: staged removed: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("enroll: staged removed: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("enroll: staged removed: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET staged_removed_at = ? WHERE id = ?`, stamp(at), id); err != nil {
			return fmt.Errorf("enroll: staged removed: %w", err)
		}
		if err := audit(ctx, tx, auditEvent{batch: id, entity: "batch", id: id, action: "STAGED_REMOVED", at: at}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// StagedInUse reports whether a batch names the staged copy at path: a copy
// staged for a file that then made no batch (its bytes were applied
// before) is no batch's, and is removed.
func (l *Ledger) StagedInUse(ctx context.Context, path string) (bool, error) {
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM batches WHERE staged_path = ? AND staged_removed_at = ''`, path).Scan(&n); err != nil {
		return false, fmt.Errorf("enroll: staged copy in use: %w", err)
	}
	return n > 0, nil
}
