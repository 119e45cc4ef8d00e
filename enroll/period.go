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
// in [Since, Until) (from Source, when set; only the local files, when
// Local is), the reruns, releases and deliveries made in it (of those
// files' sources), and the KYC approvals made in it (approvals belong to
// no source: all of the period's).
type PeriodFilter struct {
	Since, Until time.Time
	Source       string
	Local        bool // with Source "": only the files processed locally (source "")
}

// sourceCond is the SQL condition (with its arguments) that keeps the
// rows of f's source, on column col, the source given as parameter param
// ("?", or "?3" in a query that numbers its parameters); "" for every
// source.
func (f PeriodFilter) sourceCond(col, param string) (string, []any) {
	switch {
	case f.Source != "":
		return ` AND ` + col + ` = ` + param, []any{f.Source}
	case f.Local:
		return ` AND ` + col + ` = ''`, nil
	}
	return "", nil
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
	// Refusals are the files received in the period whose bytes an
	// earlier batch had applied: answered, never processed, no batch.
	Refusals []Refusal
	// Reruns are the reruns and releases of a hold made in the period, by
	// their own time, whenever their file was received.
	Reruns []PeriodRerun
	// Deliveries are the deliveries made in the period of the outputs of
	// files received before it (a rerun or release of an earlier file, a
	// delivery that had failed): the period's own files have theirs with
	// their batches.
	Deliveries []PeriodDelivery
}

// PeriodRerun is an operator's rerun (RERUN) or release of a hold
// (RELEASED): EntityID is the batch rerun, BatchID the batch it became;
// File is the file's, as that batch has it.
type PeriodRerun struct {
	AuditEvent
	File FileRef
}

// PeriodDelivery is one delivery of a batch's outputs.
type PeriodDelivery struct {
	BatchID string
	At      string
	File    FileRef
	Outputs []Output // none for a delivery made before the ledger kept them
}

// FileRef names a file received: its source ("" for a local file), its
// name and when it was received.
type FileRef struct {
	Source, Name, ReceivedAt string
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
	if p.Refusals, err = periodRefusals(ctx, tx, f); err != nil {
		return nil, err
	}
	if p.Reruns, err = periodReruns(ctx, tx, f); err != nil {
		return nil, err
	}
	if p.Deliveries, err = periodDeliveries(ctx, tx, f); err != nil {
		return nil, err
	}
	return p, nil
}

// KnownSource reports whether a source of that name ever sent a file:
// a batch or a refused receipt names it.
func (l *Ledger) KnownSource(ctx context.Context, source string) (bool, error) {
	var known bool
	err := l.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM batches WHERE source = ?1)
		OR EXISTS (SELECT 1 FROM refusals WHERE source = ?1)`, source).Scan(&known)
	if err != nil {
		return false, fmt.Errorf("enroll: source %s: %w", source, err)
	}
	return known, nil
}

// periodBatches are the batches received in the period and, followed out
// of it, the batches that superseded them.
func periodBatches(ctx context.Context, tx *sql.Tx, f PeriodFilter) ([]PeriodBatch, error) {
	cond, args := f.sourceCond("source", "?")
	rows, err := tx.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE received_at >= ? AND received_at < ?`+
		cond+` ORDER BY received_at, rowid`, append([]any{stamp(f.Since), stamp(f.Until)}, args...)...)
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
	b.Outputs, err = outputs(ctx, tx, `SELECT name, sha256, size, delivered_at FROM deliveries
		WHERE batch_id = ? ORDER BY delivered_at, name`, b.ID)
	return err
}

// periodReruns are the reruns and releases made in the period, oldest
// first. A rerun's event is written with its new batch, at the time that
// batch was processed. Only batch events are read, a few per file: through
// the index of batch events (audit_batch_entity), or from the batches
// processed in the period through audit_batch — never the rows' events.
func periodReruns(ctx context.Context, tx *sql.Tx, f PeriodFilter) ([]PeriodRerun, error) {
	cond, sargs := f.sourceCond("b.source", "?3")
	args := append([]any{stamp(f.Since), stamp(f.Until)}, sargs...)
	rows, err := tx.QueryContext(ctx, `SELECT a.seq, a.at, a.batch_id, a.line, a.actor, a.reason, a.entity,
		a.entity_id, a.action, a.before, a.after, b.source, b.file, b.received_at
		FROM batches b JOIN audit_events a ON a.batch_id = b.id AND a.line = 0
		WHERE b.processed_at >= ?1 AND b.processed_at < ?2`+cond+`
		AND a.entity = 'batch' AND a.action IN ('RERUN', 'RELEASED') AND a.at >= ?1 AND a.at < ?2
		ORDER BY a.at, a.seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	defer rows.Close()
	var out []PeriodRerun
	for rows.Next() {
		var r PeriodRerun
		e := &r.AuditEvent
		if err := rows.Scan(&e.Seq, &e.At, &e.BatchID, &e.Line, &e.Actor, &e.Reason, &e.Entity, &e.EntityID,
			&e.Action, &e.Before, &e.After, &r.File.Source, &r.File.Name, &r.File.ReceivedAt); err != nil {
			return nil, fmt.Errorf("enroll: period: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// periodDeliveries are the deliveries made in the period of batches whose
// file was received before it, oldest first: each (batch, time) with the
// outputs sent then, and a delivery recorded before outputs were kept
// (batches.delivered_at alone) without them.
func periodDeliveries(ctx context.Context, tx *sql.Tx, f PeriodFilter) ([]PeriodDelivery, error) {
	cond, sargs := f.sourceCond("b.source", "?3")
	args := append([]any{stamp(f.Since), stamp(f.Until)}, sargs...)
	rows, err := tx.QueryContext(ctx, `SELECT d.batch_id, d.delivered_at, b.source, b.file, b.received_at
		FROM deliveries d JOIN batches b ON b.id = d.batch_id
		WHERE d.delivered_at >= ?1 AND d.delivered_at < ?2 AND b.received_at < ?1`+cond+`
		UNION SELECT b.id, b.delivered_at, b.source, b.file, b.received_at FROM batches b
		WHERE b.delivered_at >= ?1 AND b.delivered_at < ?2 AND b.received_at < ?1`+cond+`
		ORDER BY 2, 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	var out []PeriodDelivery
	for rows.Next() {
		var d PeriodDelivery
		if err := rows.Scan(&d.BatchID, &d.At, &d.File.Source, &d.File.Name, &d.File.ReceivedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("enroll: period: %w", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enroll: period: %w", err)
	}
	for i := range out {
		if out[i].Outputs, err = outputs(ctx, tx, `SELECT name, sha256, size, delivered_at FROM deliveries
			WHERE batch_id = ? AND delivered_at = ? ORDER BY name`, out[i].BatchID, out[i].At); err != nil {
			return nil, err
		}
	}
	return out, nil
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
