package enroll

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"enrollsftp"
)

// PeriodFilter selects what a compliance report covers: the files received
// in [Since, Until) (from Source, when set), and the KYC approvals made in
// it (approvals belong to no source: all of the period's).
type PeriodFilter struct {
	Since, Until time.Time
	Source       string
}

// Period is the ledger's record of a period, as stored: every batch of the
// files received in it, with what a report says of each, and the manual
// KYC approvals.
type Period struct {
	// Batches are oldest first. A batch superseded by a rerun or a later
	// delivery of its file is followed to the batch that superseded it,
	// even when that one was received after Until.
	Batches   []PeriodBatch
	Approvals []Approval
}

// PeriodBatch is one batch with its counts per code, the operators'
// actions on it and the outputs delivered for it.
type PeriodBatch struct {
	enrollsftp.Batch
	// Codes counts the batch's records per code (warnings such as
	// KYC_FAILED included) and its file-level errors.
	Codes map[string]int
	// Rejections counts the codes of its rejected records and its
	// file-level errors.
	Rejections map[string]int
	// Actions are what operators did to it, oldest first: a rerun (RERUN),
	// a HELD batch released (RELEASED), a rerun that failed (FAILED).
	Actions []AuditEvent
	// Outputs are the files delivered to its source, oldest first; none
	// for a local batch, or one delivered before the ledger kept them.
	Outputs []Output
}

// Approval is one manual KYC approval. By is "" for one recorded before
// operators were named.
type Approval struct {
	At        string
	By        string
	Reason    string
	PersonID  string
	FirstName string
	LastName  string
}

// Period reads the record of a period in one read transaction.
func (l *Ledger) Period(ctx context.Context, f PeriodFilter) (*Period, error) {
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	defer tx.Rollback()
	p := &Period{}
	if p.Batches, err = periodBatches(ctx, tx, f); err != nil {
		return nil, err
	}
	for i := range p.Batches {
		if err := describeBatch(ctx, tx, &p.Batches[i]); err != nil {
			return nil, err
		}
	}
	if p.Approvals, err = periodApprovals(ctx, tx, f); err != nil {
		return nil, err
	}
	return p, nil
}

// periodBatches are the batches received in the period and, followed out
// of it, the batches that superseded them.
func periodBatches(ctx context.Context, tx *sql.Tx, f PeriodFilter) ([]PeriodBatch, error) {
	q := `SELECT ` + batchColumns + ` FROM batches WHERE received_at >= ? AND received_at < ?`
	args := []any{stamp(f.Since), stamp(f.Until)}
	if f.Source != "" {
		q += ` AND source = ?`
		args = append(args, f.Source)
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY received_at, rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	var out []PeriodBatch
	have := map[string]bool{}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("enroll: period: %w", err)
		}
		out = append(out, PeriodBatch{Batch: b})
		have[b.ID] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	for i := 0; i < len(out); i++ { // out grows as superseding batches are found
		next := out[i].SupersededBy
		if next == "" || have[next] {
			continue
		}
		b, err := scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, next))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("enroll: period: %w", err)
		}
		out = append(out, PeriodBatch{Batch: b})
		have[next] = true
	}
	return out, nil
}

// describeBatch reads a batch's counts per code, operator actions and
// deliveries.
func describeBatch(ctx context.Context, tx *sql.Tx, b *PeriodBatch) error {
	b.Codes, b.Rejections = map[string]int{}, map[string]int{}
	for _, e := range b.FileErrors {
		b.Codes[string(e.Code)]++
		b.Rejections[string(e.Code)]++
	}
	rows, err := tx.QueryContext(ctx, `SELECT status, codes, count(*) FROM batch_records
		WHERE batch_id = ? AND codes <> '' GROUP BY status, codes`, b.ID)
	if err != nil {
		return fmt.Errorf("enroll: period: %w", err)
	}
	for rows.Next() {
		var status, codes string
		var n int
		if err := rows.Scan(&status, &codes, &n); err != nil {
			rows.Close()
			return fmt.Errorf("enroll: period: %w", err)
		}
		for _, c := range splitCodes(codes) {
			b.Codes[c] += n
			if status == enrollsftp.RecordRejected {
				b.Rejections[c] += n
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("enroll: period: %w", err)
	}
	arows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events
		WHERE entity = 'batch' AND entity_id = ? AND (actor <> '' OR action IN ('RERUN', 'RELEASED'))
		ORDER BY seq`, b.ID)
	if err != nil {
		return fmt.Errorf("enroll: period: %w", err)
	}
	for arows.Next() {
		e, err := scanAudit(arows)
		if err != nil {
			arows.Close()
			return fmt.Errorf("enroll: period: %w", err)
		}
		b.Actions = append(b.Actions, e)
	}
	arows.Close()
	if err := arows.Err(); err != nil {
		return fmt.Errorf("enroll: period: %w", err)
	}
	drows, err := tx.QueryContext(ctx, `SELECT name, sha256, size, delivered_at FROM deliveries
		WHERE batch_id = ? ORDER BY delivered_at, name`, b.ID)
	if err != nil {
		return fmt.Errorf("enroll: period: %w", err)
	}
	defer drows.Close()
	for drows.Next() {
		var o Output
		if err := drows.Scan(&o.Name, &o.SHA256, &o.Size, &o.DeliveredAt); err != nil {
			return fmt.Errorf("enroll: period: %w", err)
		}
		b.Outputs = append(b.Outputs, o)
	}
	return drows.Err()
}

// periodApprovals are the manual KYC approvals made in the period.
func periodApprovals(ctx context.Context, tx *sql.Tx, f PeriodFilter) ([]Approval, error) {
	rows, err := tx.QueryContext(ctx, `SELECT k.created_at, k.operator, k.reason, k.person_id, p.first_name, p.last_name
		FROM kyc_verifications k JOIN persons p ON p.id = k.person_id
		WHERE k.method = 'MANUAL' AND k.created_at >= ? AND k.created_at < ?
		ORDER BY k.created_at, p.last_name, p.first_name, k.reason`, stamp(f.Since), stamp(f.Until))
	if err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var a Approval
		if err := rows.Scan(&a.At, &a.By, &a.Reason, &a.PersonID, &a.FirstName, &a.LastName); err != nil {
			return nil, fmt.Errorf("enroll: period: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
