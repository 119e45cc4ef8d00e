package enroll

import (
	"fmt"
	"strings"
	"time"

	"enrollsftp"
	"enrollsftp/kyc"
	"enrollsftp/validate"
)

// election applies one election row.
func (t *txn) election(e *validate.Election) (result, error) {
	if ok, err := t.employerExists(e.EmployerID); err != nil {
		return result{}, err
	} else if !ok {
		return result{}, enrollsftp.Errorf(enrollsftp.EmployerNotFound, "employer_id", "employer "+e.EmployerID+" is not in the plans")
	}
	emp, err := t.employmentAhead(e.EmployerID, e.EmployeeID)
	if err != nil {
		return result{}, err
	}
	if emp == nil {
		return result{}, enrollsftp.Errorf(enrollsftp.IndividualNotFound, "employee_id",
			fmt.Sprintf("employee %s of employer %s is not in any census", e.EmployeeID, e.EmployerID))
	}
	switch e.Action {
	case validate.ActionEnroll:
		return t.enroll(e, emp)
	case validate.ActionChange:
		return t.change(e, emp)
	case validate.ActionUnenroll:
		return t.unenroll(e, emp)
	default:
		return t.transfer(e, emp)
	}
}

// checkWindow enforces the enrollment window for open-enrollment elections;
// NEW_HIRE and LIFE_EVENT elections may come at any time.
func (t *txn) checkWindow(e *validate.Election, py *planYear) error {
	if e.Reason != validate.ReasonOpenEnrollment {
		return nil
	}
	if today := t.today(); today < py.enrollStart || today > py.enrollEnd {
		return enrollsftp.Errorf(enrollsftp.OutsideEnrollmentWindow, "reason",
			fmt.Sprintf("open enrollment for plan year %s runs %s to %s", py.code, py.enrollStart, py.enrollEnd))
	}
	return nil
}

// checkLimit rejects an annual amount above the plan's limit for the tier;
// for an HSA the employer's contribution counts against the same limit.
func (t *txn) checkLimit(p *plan, py *planYear, tier string, annual int64, dob string) error {
	limit, ok := annualLimit(p, py, tier, dob)
	if !ok {
		return enrollsftp.Errorf(enrollsftp.AmountExceedsLimit, "annual_amount",
			fmt.Sprintf("no IRS limit is known for %s in %d: set limits on plan %s", p.typ, py.start.Year(), p.code))
	}
	total, what := annual, "the election"
	if p.typ == "HSA" {
		er := p.employerIndividual
		if tier == validate.TierFamily {
			er = p.employerFamily
		}
		total += er
		if er > 0 {
			what = "the election plus the employer contribution of " + enrollsftp.FormatCents(er)
		}
	}
	if total > limit {
		return enrollsftp.Errorf(enrollsftp.AmountExceedsLimit, "annual_amount",
			fmt.Sprintf("%s (%s) exceeds the %s %s limit of %s", what, enrollsftp.FormatCents(total),
				strings.ToLower(tier), p.code, enrollsftp.FormatCents(limit)))
	}
	return nil
}

// requirements checks, reading only, what a plan type needs of the person:
// a date of birth for FSAs, a full identity for an HSA (verified later, by
// kycHold, once no rule can reject the row). It returns the person (whose
// date of birth the limit check needs) and, for an HSA, the identity.
func (t *txn) requirements(p *plan, personID string) (*person, kyc.Identity, error) {
	var id kyc.Identity
	per, err := t.personAhead(personID)
	if err != nil {
		return nil, id, err
	}
	if per == nil {
		return nil, id, fmt.Errorf("enroll: person %s of an employment is not on file", personID)
	}
	switch p.typ {
	case "FSA", "LPFSA", "DCFSA":
		if per.dob == "" {
			return nil, id, enrollsftp.Errorf(enrollsftp.RequiredFieldMissing, "dob",
				"a date of birth is required for "+p.typ+" enrollment: send it in the census")
		}
	case "HSA":
		if id, err = t.identity(per, ""); err != nil {
			return nil, id, err
		}
		if missing := missingIdentity(id); len(missing) > 0 {
			return nil, id, enrollsftp.Errorf(enrollsftp.KYCRequired, "",
				"HSA enrollment needs "+strings.Join(missing, ", ")+" in the census")
		}
	}
	return per, id, nil
}

// kycHold verifies the identity of a person enrolling in an HSA (it may
// write the verdict: it runs after every rule that can reject the row) and
// says whether the enrollment waits for an approval.
func (t *txn) kycHold(p *plan, per *person, id kyc.Identity) (pending bool, warn enrollsftp.Errors, err error) {
	if p.typ != "HSA" {
		return false, nil, nil
	}
	err = t.verify(per, false, id.SSN)
	t.ahc.forgetPerson(per.ID) // verify may have written it
	if err != nil {
		return false, nil, err
	}
	if per.KYCStatus == kyc.Failed {
		return true, enrollsftp.Errors{enrollsftp.Errorf(enrollsftp.KYCFailed, "",
			"held until KYC is approved: "+strings.ReplaceAll(per.KYCCodes, ";", ", "))}, nil
	}
	return false, nil, nil
}

func missingIdentity(id kyc.Identity) []string {
	var m []string
	for _, f := range []struct{ name, v string }{{"first_name", id.FirstName}, {"last_name", id.LastName},
		{"address_line1", id.AddressLine1}, {"city", id.City}, {"state", id.State}, {"zip", id.ZIP},
		{"dob", id.DOB}, {"ssn", id.SSN}} {
		if f.v == "" {
			m = append(m, f.name)
		}
	}
	return m
}

func (t *txn) personDOB(personID string) (string, error) {
	var dob string
	err := t.queryRow(`SELECT dob FROM persons WHERE id = ?`, personID).Scan(&dob)
	return dob, err
}

func (t *txn) payFrequency(employer string) (string, error) {
	if f, ok := t.freq[employer]; ok {
		return f, nil
	}
	var f string
	if err := t.queryRow(`SELECT pay_frequency FROM employers WHERE id = ?`, employer).Scan(&f); err != nil {
		return "", err
	}
	if t.freq == nil {
		t.freq = map[string]string{}
	}
	t.freq[employer] = f
	return f, nil
}

// schedule computes a new election's per-period amount: what is left of the
// annual amount after deducted, over the periods of the plan year starting
// on or after the effective date.
func (t *txn) schedule(employer string, py *planYear, effective string, annual, deducted int64) (int64, int, error) {
	freq, err := t.payFrequency(employer)
	if err != nil {
		return 0, 0, err
	}
	eff, _ := time.Parse(isoDate, effective)
	remaining := countPeriods(periodStarts(freq, py.start), eff, time.Time{})
	per, n := perPeriod(annual-deducted, remaining)
	return per, n, nil
}

// deductedUntil is what an election's enrollment has had deducted before a
// date: what was deducted before the election, plus its per-period amount
// for each of its periods that started before the date.
func (t *txn) deductedUntil(employer string, py *planYear, old *election, date string) (int64, error) {
	freq, err := t.payFrequency(employer)
	if err != nil {
		return 0, err
	}
	from, _ := time.Parse(isoDate, old.Effective)
	to, _ := time.Parse(isoDate, date)
	if from.Before(py.start) { // an HSA election from an earlier plan year: a new year starts afresh
		return 0, nil
	}
	n := countPeriods(periodStarts(freq, py.start), from, to)
	return old.DeductedBefore + int64(n)*old.PerPeriod, nil
}

func (t *txn) insertElection(el *election) error {
	el.ID, el.Status, el.Version = newID(), "ACTIVE", 1
	if err := t.insert(t.w.table("elections"), `INSERT INTO elections (id, enrollment_id, annual_cents, coverage_tier,
		per_period, periods, deducted_before, status, effective_date, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		el.ID, el.EnrollmentID, el.AnnualCents, el.Tier, el.PerPeriod, el.Periods, el.DeductedBefore, el.Status,
		el.Effective, stamp(t.now)); err != nil {
		return fmt.Errorf("enroll: insert election: %w", err)
	}
	return t.audit("election", el.ID, "CREATE", nil, *el)
}

func (t *txn) insertEnrollment(en *enrollment) error {
	en.ID, en.Version = newID(), 1
	now := stamp(t.now)
	if err := t.insert(t.w.table("enrollments"), `INSERT INTO enrollments (id, person_id, employment_id, account_id,
		plan_id, plan_year_pk, employer_id, plan_code, plan_type, status, detached, effective_date, end_date,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		en.ID, en.PersonID, en.EmploymentID, en.AccountID, en.PlanID, en.PlanYearPK, en.EmployerID, en.PlanCode,
		en.PlanType, en.Status, en.Detached, en.Effective, en.End, now, now); err != nil {
		return fmt.Errorf("enroll: insert enrollment: %w", err)
	}
	t.ahc.noteEnrollment(en)
	return t.audit("enrollment", en.ID, "CREATE", nil, *en)
}

// account returns the account an enrollment draws on: a person has one HSA
// account for life; every other enrollment gets its own.
func (t *txn) account(personID, planType string) (string, error) {
	if planType == "HSA" {
		if id, err := t.hsaAccount(personID); err != nil || id != "" {
			return id, err
		}
	}
	id := newID()
	if err := t.insert(t.w.table("accounts"), `INSERT INTO accounts (id, person_id, plan_type, created_at)
		VALUES (?, ?, ?, ?)`, id, personID, planType, stamp(t.now)); err != nil {
		return "", fmt.Errorf("enroll: insert account: %w", err)
	}
	if planType == "HSA" {
		t.ahc.noteHSAAccount(personID, id)
	}
	return id, t.audit("account", id, "CREATE", nil, map[string]string{"person_id": personID, "plan_type": planType})
}
