package enroll

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"enrollsftp"
)

// Actor is an operator acting on the ledger by hand, and why: kept with
// every audit event the action causes (kyc approve, rerun, a HELD batch
// released with --force).
type Actor struct {
	Name   string
	Reason string
}

// stored is the actor as the ledger keeps it: one line each (runs of
// spaces, tabs and line breaks made one space), and an SSN typed into a
// reason masked, as in any other text the ledger stores.
func (a Actor) stored() Actor {
	line := func(s string) string { return enrollsftp.ScrubSSN(strings.Join(strings.Fields(s), " ")) }
	return Actor{Name: line(a.Name), Reason: line(a.Reason)}
}

// AuditFilter narrows the audit trail; zero fields match everything, and
// the fields given combine.
type AuditFilter struct {
	// PersonID, or EmployerID with EmployeeID, select one person's events:
	// the person's own and those of their employments, accounts,
	// enrollments and elections.
	PersonID               string
	EmployerID, EmployeeID string
	// BatchID selects what a batch changed and what happened to it (its
	// status, a rerun or release of it, its delivery).
	BatchID string
	// Entities keeps the events of these entity types (person, employment,
	// account, enrollment, election, batch, employer, plan_year, plan).
	Entities []string
	// Since and Until bound the event's time: Since ≤ at < Until, at the
	// stored stamps' precision (whole seconds): an event stamped in the
	// second Since falls in, an event stamped in the second Until falls in
	// when Until is past its start.
	Since, Until time.Time
	// Operator keeps only the events an operator caused (not the config's
	// plans file).
	Operator bool
}

// AuditEvent is one entry of the audit trail as stored. Before and After
// are JSON objects: the fields a change touched, each side with its value,
// or the whole row for a CREATE; either may be "". The SSN and date of
// birth never enter them (the person snapshot has ssn_last4, has_dob and
// dob_tag, a keyed tag of the date).
type AuditEvent struct {
	Seq      int64
	At       string // RFC 3339, UTC
	BatchID  string // the batch whose processing (or rerun) caused it; "" for an approval
	Line     int    // the record's line in that batch; 0 for a batch-level event
	Actor    string // the operator, ConfigActor for the config's plans; "" for an event a file caused
	Reason   string // the operator's reason
	Entity   string // person, employment, account, enrollment, election, batch, employer, plan_year, plan
	EntityID string
	Action   string
	Before   string
	After    string
}

const auditColumns = `seq, at, batch_id, line, actor, reason, entity, entity_id, action, before, after`

// Audit hands the events f selects to fn, oldest first, in one read
// transaction. A person filter naming no one on file is ErrPersonNotFound.
//
// The trail is indexed by batch (audit_batch) and, for batch events, by
// the batch they concern: a batch's events are an index look-up. A
// person's history, or a period without a batch, is a scan of the trail,
// as the rows of a file are not indexed by entity (it would cost every
// row a random write).
func (l *Ledger) Audit(ctx context.Context, f AuditFilter, fn func(AuditEvent) error) error {
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("enroll: audit: %w", err)
	}
	defer tx.Rollback()
	q := `SELECT ` + auditColumns + ` FROM audit_events WHERE 1 = 1`
	var args []any
	if f.BatchID != "" {
		q += ` AND seq IN (SELECT seq FROM audit_events WHERE batch_id = ?
			UNION SELECT seq FROM audit_events WHERE entity = 'batch' AND entity_id = ?)`
		args = append(args, f.BatchID, f.BatchID)
	}
	if f.PersonID != "" || f.EmployerID != "" || f.EmployeeID != "" {
		ids, err := personEntities(ctx, tx, f)
		if err != nil {
			return err
		}
		q += ` AND entity IN ('person', 'employment', 'account', 'enrollment', 'election')
			AND entity_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	if len(f.Entities) > 0 {
		q += ` AND entity IN (?` + strings.Repeat(", ?", len(f.Entities)-1) + `)`
		for _, e := range f.Entities {
			args = append(args, e)
		}
	}
	// Stamps are RFC 3339 in whole seconds, UTC, compared as text: the
	// bounds are made stamps the same way, Until rounded up.
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, stamp(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ?`
		args = append(args, stamp(ceilSecond(f.Until)))
	}
	if f.Operator {
		q += ` AND actor NOT IN ('', ?)`
		args = append(args, ConfigActor)
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY seq`, args...)
	if err != nil {
		return fmt.Errorf("enroll: audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("enroll: audit: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ceilSecond is t rounded up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

func scanAudit(row interface{ Scan(...any) error }) (AuditEvent, error) {
	var e AuditEvent
	err := row.Scan(&e.Seq, &e.At, &e.BatchID, &e.Line, &e.Actor, &e.Reason, &e.Entity, &e.EntityID, &e.Action,
		&e.Before, &e.After)
	return e, err
}

// personEntities resolves a person filter to the ids of the person and of
// everything of theirs the trail records: employments, accounts,
// enrollments and elections.
func personEntities(ctx context.Context, tx *sql.Tx, f AuditFilter) ([]string, error) {
	id := f.PersonID
	if f.EmployerID != "" || f.EmployeeID != "" {
		var byEmployment string
		err := tx.QueryRowContext(ctx, `SELECT person_id FROM employments WHERE employer_id = ? AND employee_id = ?`,
			f.EmployerID, f.EmployeeID).Scan(&byEmployment)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: employee %s of employer %s", ErrPersonNotFound, f.EmployeeID, f.EmployerID)
		}
		if err != nil {
			return nil, fmt.Errorf("enroll: audit: %w", err)
		}
		if id != "" && id != byEmployment {
			return nil, fmt.Errorf("%w: person %s is not employee %s of employer %s", ErrPersonNotFound, id,
				f.EmployeeID, f.EmployerID)
		}
		id = byEmployment
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM persons WHERE id = ?1
		UNION ALL SELECT id FROM employments WHERE person_id = ?1
		UNION ALL SELECT id FROM accounts WHERE person_id = ?1
		UNION ALL SELECT id FROM enrollments WHERE person_id = ?1
		UNION ALL SELECT el.id FROM elections el JOIN enrollments en ON en.id = el.enrollment_id WHERE en.person_id = ?1`, id)
	if err != nil {
		return nil, fmt.Errorf("enroll: audit: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("enroll: audit: %w", err)
		}
		ids = append(ids, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enroll: audit: %w", err)
	}
	if len(ids) == 0 { // no person, so nothing of theirs (foreign keys)
		return nil, fmt.Errorf("%w: person %s", ErrPersonNotFound, id)
	}
	return ids, nil
}

// Reruns returns the reruns a batch took part in, oldest first: its own
// (it was rerun, or released from HELD, as a later batch) and the one that
// made it (it is the rerun of an earlier batch). Each event's EntityID is
// the batch rerun, its BatchID the rerun; Actor and Reason say who and
// why. One read, from the indexes: a batch's own events at line 0, and the
// events about it.
func (l *Ledger) Reruns(ctx context.Context, id string) ([]AuditEvent, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events
		WHERE ((batch_id = ?1 AND line = 0) OR (entity = 'batch' AND entity_id = ?1))
		AND entity = 'batch' AND action IN ('RERUN', 'RELEASED') ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("enroll: reruns: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("enroll: reruns: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
