package enroll

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"enrollsftp"
)

// planYear is a plan_years row.
type planYear struct {
	pk                     int64
	code                   string
	start, end             time.Time
	enrollStart, enrollEnd string
}

// plan is a plans row.
type plan struct {
	id, code, typ                      string
	limitIndividual, limitFamily       *int64
	employerIndividual, employerFamily int64
}

// enrollment is an enrollments row; its JSON form is the audit snapshot.
type enrollment struct {
	ID           string `json:"id"`
	PersonID     string `json:"person_id"`
	EmploymentID string `json:"employment_id"`
	AccountID    string `json:"account_id"`
	PlanID       string `json:"plan_id"`
	PlanYearPK   int64  `json:"plan_year"`
	EmployerID   string `json:"employer_id"`
	PlanCode     string `json:"plan_code"`
	PlanType     string `json:"plan_type"`
	Status       string `json:"status"`
	Detached     bool   `json:"detached"`
	Effective    string `json:"effective_date"`
	End          string `json:"end_date"`
	Version      int    `json:"version"`
}

// election is an elections row; its JSON form is the audit snapshot.
type election struct {
	ID             string `json:"id"`
	EnrollmentID   string `json:"enrollment_id"`
	AnnualCents    int64  `json:"annual_cents"`
	Tier           string `json:"coverage_tier"`
	PerPeriod      int64  `json:"per_period_cents"`
	Periods        int    `json:"periods"`
	DeductedBefore int64  `json:"deducted_before_cents"`
	Status         string `json:"status"`
	Effective      string `json:"effective_date"`
	Version        int    `json:"version"`
}

// planYearAt finds the employer's plan year whose active period holds date.
func (t *txn) planYearAt(employer, date string) (*planYear, error) {
	key := [2]string{employer, date}
	if py, ok := t.years[key]; ok {
		return py, nil
	}
	py, err := t.loadPlanYear(employer, date)
	if err != nil {
		return nil, err
	}
	if t.years == nil {
		t.years = map[[2]string]*planYear{}
	}
	t.years[key] = py
	return py, nil
}

func (t *txn) loadPlanYear(employer, date string) (*planYear, error) {
	var py planYear
	var start, end string
	err := t.queryRow(`SELECT pk, code, start_date, end_date, enrollment_start, enrollment_end
		FROM plan_years WHERE employer_id = ? AND start_date <= ? AND end_date >= ?
		ORDER BY start_date DESC LIMIT 1`, employer, date, date).
		Scan(&py.pk, &py.code, &start, &end, &py.enrollStart, &py.enrollEnd)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enroll: plan year: %w", err)
	}
	py.start, _ = time.Parse(isoDate, start)
	py.end, _ = time.Parse(isoDate, end)
	return &py, nil
}

// planFor resolves a plan code on a date: PLAN_NOT_FOUND when the employer
// has no such plan at all, PLAN_YEAR_CLOSED when the date is in none of the
// employer's plan years (or the plan is not offered in that one).
func (t *txn) planFor(employer, code, date, field string) (*plan, *planYear, error) {
	exists, ok := t.codes[[2]string{employer, code}]
	if !ok {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM plans WHERE employer_id = ? AND code = ?`,
			employer, code).Scan(&n); err != nil {
			return nil, nil, err
		}
		if t.codes == nil {
			t.codes = map[[2]string]bool{}
		}
		exists = n > 0
		t.codes[[2]string{employer, code}] = exists
	}
	if !exists {
		return nil, nil, enrollsftp.Errorf(enrollsftp.PlanNotFound, field,
			fmt.Sprintf("employer %s has no plan %s", employer, code))
	}
	py, err := t.planYearAt(employer, date)
	if err != nil {
		return nil, nil, err
	}
	if py == nil {
		return nil, nil, enrollsftp.Errorf(enrollsftp.PlanYearClosed, "effective_date",
			fmt.Sprintf("%s is in no plan year of employer %s", date, employer))
	}
	key := [3]string{employer, code, py.code}
	if p, ok := t.plans[key]; ok {
		return p, py, nil
	}
	var p plan
	err = t.queryRow(`SELECT id, code, type, limit_individual, limit_family,
		employer_individual, employer_family FROM plans
		WHERE employer_id = ? AND code = ? AND plan_year_code IN ('', ?)
		ORDER BY plan_year_code DESC LIMIT 1`, employer, code, py.code).
		Scan(&p.id, &p.code, &p.typ, &p.limitIndividual, &p.limitFamily, &p.employerIndividual, &p.employerFamily)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, enrollsftp.Errorf(enrollsftp.PlanYearClosed, "effective_date",
			fmt.Sprintf("plan %s is not offered in plan year %s", code, py.code))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("enroll: plan: %w", err)
	}
	if t.plans == nil {
		t.plans = map[[3]string]*plan{}
	}
	t.plans[key] = &p
	return &p, py, nil
}

// planType returns the type of an employer's plan code, any plan year.
func (t *txn) planType(employer, code string) (string, error) {
	var typ string
	err := t.queryRow(`SELECT type FROM plans WHERE employer_id = ? AND code = ?
		ORDER BY plan_year_code LIMIT 1`, employer, code).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return "", enrollsftp.Errorf(enrollsftp.PlanNotFound, "plan_code",
			fmt.Sprintf("employer %s has no plan %s", employer, code))
	}
	return typ, err
}

const enrollmentColumns = `id, person_id, employment_id, account_id, plan_id, plan_year_pk, employer_id,
	plan_code, plan_type, status, detached, effective_date, end_date, version`

func scanEnrollment(row interface{ Scan(...any) error }) (*enrollment, error) {
	var e enrollment
	err := row.Scan(&e.ID, &e.PersonID, &e.EmploymentID, &e.AccountID, &e.PlanID, &e.PlanYearPK, &e.EmployerID,
		&e.PlanCode, &e.PlanType, &e.Status, &e.Detached, &e.Effective, &e.End, &e.Version)
	return &e, err
}

// openEnrollment finds the employment's ACTIVE or PENDING_KYC enrollment in
// a plan; planYear 0 means any plan year (an HSA spans them). The latest
// effective one wins; the few candidates are ordered here rather than by
// ORDER BY … LIMIT 1, whose sorter cost 7 of the query's 11 µs.
func (t *txn) openEnrollment(employmentID, planCode string, planYear int64) (*enrollment, error) {
	var best *enrollment
	if t.ahc != nil {
		if list, ok := t.ahc.open[employmentID]; ok { // asked with the chunk
			for _, e := range list {
				if e.PlanCode == planCode && (e.Status == "ACTIVE" || e.Status == "PENDING_KYC") &&
					(planYear == 0 || e.PlanYearPK == planYear) &&
					(best == nil || e.Effective > best.Effective || e.Effective == best.Effective && e.ID > best.ID) {
					best = e
				}
			}
			if best != nil {
				c := *best // the caller's to change
				best = &c
			}
			return best, nil
		}
	}
	err := t.each(`SELECT `+enrollmentColumns+` FROM enrollments
		WHERE employment_id = ? AND plan_code = ? AND status IN ('ACTIVE', 'PENDING_KYC')
		AND (? = 0 OR plan_year_pk = ?)`, []any{employmentID, planCode, planYear, planYear},
		func(scan func(...any) error) error {
			e, err := scanEnrollment(scanner(scan))
			if err == nil && (best == nil || e.Effective > best.Effective || e.Effective == best.Effective && e.ID > best.ID) {
				best = e
			}
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("enroll: load enrollment: %w", err)
	}
	return best, nil
}

// activeElection is the enrollment's current election (nil if none): the
// latest effective ACTIVE one (ordered here, as in openEnrollment).
func (t *txn) activeElection(enrollmentID string) (*election, error) {
	var best *election
	err := t.each(`SELECT id, enrollment_id, annual_cents, coverage_tier, per_period,
		periods, deducted_before, status, effective_date, version FROM elections
		WHERE enrollment_id = ? AND status = 'ACTIVE'`, []any{enrollmentID},
		func(scan func(...any) error) error {
			var e election
			err := scan(&e.ID, &e.EnrollmentID, &e.AnnualCents, &e.Tier, &e.PerPeriod, &e.Periods, &e.DeductedBefore,
				&e.Status, &e.Effective, &e.Version)
			if err == nil && (best == nil || e.Effective > best.Effective || e.Effective == best.Effective && e.ID > best.ID) {
				best = &e
			}
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("enroll: load election: %w", err)
	}
	return best, nil
}

// retire makes an enrollment's ACTIVE elections HISTORICAL.
func (t *txn) retire(enrollmentID string) error {
	rows, err := t.query(`SELECT id, version FROM elections
		WHERE enrollment_id = ? AND status = 'ACTIVE'`, enrollmentID)
	if err != nil {
		return err
	}
	type idv struct {
		id string
		v  int
	}
	var list []idv
	for rows.Next() {
		var x idv
		if err := rows.Scan(&x.id, &x.v); err != nil {
			rows.Close()
			return err
		}
		list = append(list, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, x := range list {
		if err := t.update(`UPDATE elections SET status = 'HISTORICAL', version = version + 1
			WHERE id = ? AND version = ?`, x.id, x.v); err != nil {
			return err
		}
		if err := t.audit("election", x.id, "HISTORICAL", map[string]string{"status": "ACTIVE"},
			map[string]string{"status": "HISTORICAL"}); err != nil {
			return err
		}
	}
	return nil
}

// setEnrollment writes an enrollment's status, end date and detached flag.
func (t *txn) setEnrollment(e *enrollment, status, end string, detached bool, action string) error {
	before := *e
	if err := t.update(`UPDATE enrollments SET status = ?, end_date = ?, detached = ?, version = version + 1,
		updated_at = ? WHERE id = ? AND version = ?`, status, end, detached, stamp(t.now), e.ID, e.Version); err != nil {
		return err
	}
	e.Status, e.End, e.Detached, e.Version = status, end, detached, e.Version+1
	t.ahc.forgetEnrollments(e.EmploymentID, e.PersonID)
	return t.audit("enrollment", e.ID, action, before, *e)
}

// endCoverage applies a termination: non-HSA coverage of the employment ends
// on the termination date; an HSA stays open, detached from the employer,
// until it is transferred — the person owns it.
func (t *txn) endCoverage(employmentID, date string) error {
	var list []*enrollment
	err := t.each(`SELECT `+enrollmentColumns+` FROM enrollments
		WHERE employment_id = ? AND status IN ('ACTIVE', 'PENDING_KYC')`, []any{employmentID},
		func(scan func(...any) error) error {
			e, err := scanEnrollment(scanner(scan))
			list = append(list, e)
			return err
		})
	if err != nil {
		return fmt.Errorf("enroll: end coverage: %w", err)
	}
	slices.SortFunc(list, func(a, b *enrollment) int { // effective_date, id: no sorter in SQL
		return cmp.Or(strings.Compare(a.Effective, b.Effective), strings.Compare(a.ID, b.ID))
	})
	for _, e := range list {
		if e.PlanType == "HSA" {
			if !e.Detached {
				if err := t.setEnrollment(e, e.Status, e.End, true, "DETACH"); err != nil {
					return err
				}
			}
			continue
		}
		end := date
		if end < e.Effective {
			end = e.Effective // coverage that had not started ends the day it would have
		}
		if err := t.setEnrollment(e, "TERMINATED", end, e.Detached, "TERMINATE"); err != nil {
			return err
		}
		if err := t.retire(e.ID); err != nil {
			return err
		}
	}
	return nil
}
