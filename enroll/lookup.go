package enroll

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"enrollsftp"
)

// Person is what `lookup` shows (SPEC §9). Amounts are dollars with two
// decimals, dates YYYY-MM-DD, absent values "". No SSN, no date of birth:
// the SSN is its last four digits, and every SSN-shaped value of another
// field (an employee number that is an SSN, as acks and the audit trail
// mask it) is masked as enrollsftp.ScrubSSN does.
type Person struct {
	PersonID    string           `json:"person_id"`
	FirstName   string           `json:"first_name"`
	LastName    string           `json:"last_name"`
	SSN         string           `json:"ssn"` // masked: ***-**-1234
	KYC         KYCView          `json:"kyc"`
	Employments []EmploymentView `json:"employments"`
	Enrollments []EnrollmentView `json:"enrollments"`
}

// KYCView is a person's verification state.
type KYCView struct {
	Status string   `json:"status"`
	Codes  []string `json:"codes"`
	// Approvals are the operators' manual approvals, oldest first.
	Approvals []ApprovalView `json:"approvals"`
}

// ApprovalView is one manual KYC approval: by whom, when, why. By is ""
// for an approval recorded before operators were named.
type ApprovalView struct {
	ApprovedBy string `json:"approved_by"`
	ApprovedAt string `json:"approved_at"`
	Reason     string `json:"reason"`
}

// EmploymentView is one employment.
type EmploymentView struct {
	EmployerID      string `json:"employer_id"`
	EmployeeID      string `json:"employee_id"`
	Status          string `json:"status"`
	HireDate        string `json:"hire_date"`
	TerminationDate string `json:"termination_date"`
}

// EnrollmentView is one enrollment with its elections.
type EnrollmentView struct {
	EnrollmentID  string         `json:"enrollment_id"`
	AccountID     string         `json:"account_id"`
	EmployerID    string         `json:"employer_id"`
	PlanCode      string         `json:"plan_code"`
	PlanType      string         `json:"plan_type"`
	Status        string         `json:"status"`
	Detached      bool           `json:"detached"`
	EffectiveDate string         `json:"effective_date"`
	EndDate       string         `json:"end_date"`
	Elections     []ElectionView `json:"elections"`
}

// ElectionView is one election. PENDING is an ACTIVE election that has not
// started yet, or whose enrollment waits for KYC.
type ElectionView struct {
	AnnualAmount       string `json:"annual_amount"`
	CoverageTier       string `json:"coverage_tier"`
	PerPayPeriodAmount string `json:"per_pay_period_amount"`
	Status             string `json:"status"`
	EffectiveDate      string `json:"effective_date"`
}

// ErrPersonNotFound is returned by look-ups that match no one.
var ErrPersonNotFound = errors.New(string(enrollsftp.IndividualNotFound))

// LookupEmployee finds a person by employer and employee number.
func (l *Ledger) LookupEmployee(ctx context.Context, employer, employee string) (*Person, error) {
	var id string
	err := l.db.QueryRowContext(ctx, `SELECT person_id FROM employments WHERE employer_id = ? AND employee_id = ?`,
		employer, employee).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: employee %s of employer %s", ErrPersonNotFound, employee, employer)
	}
	if err != nil {
		return nil, fmt.Errorf("enroll: lookup: %w", err)
	}
	return l.LookupPerson(ctx, id)
}

// LookupPerson loads a person with employments, enrollments and elections,
// in one read transaction.
func (l *Ledger) LookupPerson(ctx context.Context, id string) (*Person, error) {
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("enroll: lookup: %w", err)
	}
	defer tx.Rollback()
	p := &Person{PersonID: id, Employments: []EmploymentView{}, Enrollments: []EnrollmentView{}}
	var last4, codes string
	err = tx.QueryRowContext(ctx, `SELECT first_name, last_name, ssn_last4, kyc_status, kyc_codes
		FROM persons WHERE id = ?`, id).Scan(&p.FirstName, &p.LastName, &last4, &p.KYC.Status, &codes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: person %s", ErrPersonNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("enroll: lookup: %w", err)
	}
	if last4 != "" {
		p.SSN = "***-**-" + last4
	}
	p.KYC.Codes = splitCodes(codes)
	if p.KYC.Codes == nil {
		p.KYC.Codes = []string{}
	}
	if p.KYC.Approvals, err = approvals(ctx, tx, id); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT employer_id, employee_id, status, hire_date, termination_date
		FROM employments WHERE person_id = ? ORDER BY employer_id, employee_id`, id)
	if err != nil {
		return nil, fmt.Errorf("enroll: lookup: %w", err)
	}
	for rows.Next() {
		var e EmploymentView
		if err := rows.Scan(&e.EmployerID, &e.EmployeeID, &e.Status, &e.HireDate, &e.TerminationDate); err != nil {
			rows.Close()
			return nil, err
		}
		p.Employments = append(p.Employments, e)
	}
	rows.Close()
	if p.Enrollments, err = enrollmentViews(ctx, tx, id, l.Now().UTC().Format(isoDate)); err != nil {
		return nil, err
	}
	p.scrub()
	return p, nil
}

// scrub masks the SSN-shaped values of the fields that come from vendor
// files or operators; the ids, codes, dates and amounts are ours.
func (p *Person) scrub() {
	s := enrollsftp.ScrubSSN
	p.FirstName, p.LastName = s(p.FirstName), s(p.LastName)
	for i := range p.KYC.Approvals {
		p.KYC.Approvals[i].ApprovedBy = s(p.KYC.Approvals[i].ApprovedBy)
	}
	for i := range p.Employments {
		e := &p.Employments[i]
		e.EmployerID, e.EmployeeID = s(e.EmployerID), s(e.EmployeeID)
	}
	for i := range p.Enrollments {
		e := &p.Enrollments[i]
		e.EmployerID, e.PlanCode = s(e.EmployerID), s(e.PlanCode)
	}
}

// approvals lists a person's manual KYC approvals, oldest first.
func approvals(ctx context.Context, tx *sql.Tx, personID string) ([]ApprovalView, error) {
	rows, err := tx.QueryContext(ctx, `SELECT operator, created_at, reason FROM kyc_verifications
		WHERE person_id = ? AND method = 'MANUAL' ORDER BY created_at, id`, personID)
	if err != nil {
		return nil, fmt.Errorf("enroll: lookup: %w", err)
	}
	defer rows.Close()
	out := []ApprovalView{}
	for rows.Next() {
		var a ApprovalView
		if err := rows.Scan(&a.ApprovedBy, &a.ApprovedAt, &a.Reason); err != nil {
			return nil, fmt.Errorf("enroll: lookup: %w", err)
		}
		a.Reason = enrollsftp.ScrubSensitive(a.Reason) // free text: it may quote a date of birth
		out = append(out, a)
	}
	return out, rows.Err()
}

func enrollmentViews(ctx context.Context, tx *sql.Tx, personID, today string) ([]EnrollmentView, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, account_id, employer_id, plan_code, plan_type, status,
		detached, effective_date, end_date FROM enrollments WHERE person_id = ?
		ORDER BY effective_date, created_at, id`, personID)
	if err != nil {
		return nil, fmt.Errorf("enroll: lookup: %w", err)
	}
	out := []EnrollmentView{}
	for rows.Next() {
		var e EnrollmentView
		if err := rows.Scan(&e.EnrollmentID, &e.AccountID, &e.EmployerID, &e.PlanCode, &e.PlanType, &e.Status,
			&e.Detached, &e.EffectiveDate, &e.EndDate); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, e)
	}
	rows.Close()
	for i := range out {
		e := &out[i]
		erows, err := tx.QueryContext(ctx, `SELECT annual_cents, coverage_tier, per_period, status, effective_date
			FROM elections WHERE enrollment_id = ? ORDER BY effective_date, created_at, id`, e.EnrollmentID)
		if err != nil {
			return nil, fmt.Errorf("enroll: lookup: %w", err)
		}
		e.Elections = []ElectionView{}
		for erows.Next() {
			var v ElectionView
			var annual, per int64
			if err := erows.Scan(&annual, &v.CoverageTier, &per, &v.Status, &v.EffectiveDate); err != nil {
				erows.Close()
				return nil, err
			}
			v.AnnualAmount, v.PerPayPeriodAmount = enrollsftp.FormatCents(annual), enrollsftp.FormatCents(per)
			if v.Status == "ACTIVE" && (v.EffectiveDate > today || e.Status == "PENDING_KYC") {
				v.Status = "PENDING"
			}
			e.Elections = append(e.Elections, v)
		}
		erows.Close()
	}
	return out, nil
}

// ErrNoOperator is returned by an operator's action that names no
// operator or gives no reason where one is required.
var ErrNoOperator = errors.New("enroll: an operator and a reason are required")

// ApproveKYC records an operator's manual approval of a person's identity
// and applies their PENDING_KYC enrollments, in one transaction; the
// operator and their reason are kept with the approval and its audit
// events. It returns how many enrollments were released.
func (l *Ledger) ApproveKYC(ctx context.Context, personID string, by Actor) (int, error) {
	by = by.stored()
	if by.Name == "" || by.Reason == "" {
		return 0, fmt.Errorf("%w: approve", ErrNoOperator)
	}
	reason := by.Reason
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("enroll: approve: %w", err)
	}
	defer tx.Rollback()
	t := &txn{ctx: ctx, tx: tx, l: l, now: l.Now().UTC(), by: by}
	// Its statements are closed before the connection goes back: one left
	// to the garbage collector is finalized from the finalizer's goroutine,
	// maybe while another transaction uses the connection.
	defer t.closeStmts()
	p, err := personBy(tx, t, "id", personID)
	if err != nil {
		return 0, err
	}
	if p == nil {
		return 0, fmt.Errorf("%w: person %s", ErrPersonNotFound, personID)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kyc_verifications (id, person_id, status, codes, method, reason,
		created_at, operator) VALUES (?, ?, 'APPROVED', '', 'MANUAL', ?, ?, ?)`, newID(), personID, reason, stamp(t.now),
		by.Name); err != nil {
		return 0, fmt.Errorf("enroll: approve: %w", err)
	}
	before := *p
	if err := t.update(`UPDATE persons SET kyc_status = 'APPROVED', version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`, stamp(t.now), personID, p.Version); err != nil {
		return 0, err
	}
	p.KYCStatus, p.Version = "APPROVED", p.Version+1
	if err := t.audit("person", personID, "KYC_APPROVED", before, map[string]any{"kyc_status": "APPROVED",
		"reason": reason}); err != nil {
		return 0, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM enrollments WHERE person_id = ? AND status = 'PENDING_KYC'`,
		personID).Scan(&n); err != nil {
		return 0, err
	}
	if err := t.activatePending(personID); err != nil {
		return 0, err
	}
	t.closeStmts()
	return n, tx.Commit()
}
