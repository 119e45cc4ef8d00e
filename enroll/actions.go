package enroll

import (
	"database/sql"
	"fmt"

	"enrollsftp"
	"enrollsftp/validate"
)

// enroll opens a new enrollment with its first election.
func (t *txn) enroll(e *validate.Election, emp *employment) (result, error) {
	p, py, err := t.planFor(e.EmployerID, e.PlanCode, e.EffectiveDate, "plan_code")
	if err != nil {
		return result{}, err
	}
	if err := t.checkWindow(e, py); err != nil {
		return result{}, err
	}
	scope := py.pk
	if p.typ == "HSA" {
		scope = 0 // an HSA enrollment spans plan years: the next year is a CHANGE
	}
	if open, err := t.openEnrollment(emp.ID, e.PlanCode, scope); err != nil {
		return result{}, err
	} else if open != nil {
		return result{}, enrollsftp.Errorf(enrollsftp.AlreadyEnrolled, "plan_code",
			fmt.Sprintf("already enrolled in %s since %s (enrollment %s)", e.PlanCode, open.Effective, open.ID))
	}
	if p.typ == "HSA" {
		// A person has one HSA account and one open HSA enrollment on it:
		// a second, at any employer, would double the contributions against
		// one limit. Moving it is a TRANSFER.
		other, err := t.openHSA(emp.PersonID)
		if err != nil {
			return result{}, err
		}
		if other != nil {
			return result{}, enrollsftp.Errorf(enrollsftp.AlreadyEnrolled, "plan_code",
				fmt.Sprintf("the person's HSA is open at %s/%s: send a TRANSFER to move it", other[0], other[1]))
		}
	}
	person, id, err := t.requirements(p, emp.PersonID)
	if err != nil {
		return result{}, err
	}
	if err := t.checkLimit(p, py, e.CoverageTier, e.AnnualCents, person.dob); err != nil {
		return result{}, err
	}
	per, periods, err := t.schedule(e.EmployerID, py, e.EffectiveDate, e.AnnualCents, 0)
	if err != nil {
		return result{}, err
	}
	// The first write of the row: every rule that rejects it was checked.
	pending, warn, err := t.kycHold(p, person, id)
	if err != nil {
		return result{}, err
	}
	acct, err := t.account(emp.PersonID, p.typ)
	if err != nil {
		return result{}, err
	}
	status := "ACTIVE"
	if pending {
		status = "PENDING_KYC"
	}
	en := &enrollment{PersonID: emp.PersonID, EmploymentID: emp.ID, AccountID: acct, PlanID: p.id,
		PlanYearPK: py.pk, EmployerID: e.EmployerID, PlanCode: p.code, PlanType: p.typ, Status: status,
		Effective: e.EffectiveDate, End: e.EndDate}
	if err := t.insertEnrollment(en); err != nil {
		return result{}, err
	}
	el := &election{EnrollmentID: en.ID, AnnualCents: e.AnnualCents, Tier: e.CoverageTier, PerPeriod: per,
		Periods: periods, Effective: e.EffectiveDate}
	if err := t.insertElection(el); err != nil {
		return result{}, err
	}
	return result{pending: pending, warnings: warn, perPeriod: &per}, nil
}

// change replaces the current election of an open enrollment. The new
// per-period amount spreads what is left of the new annual amount, after
// what the old election already deducted, over the periods that remain.
func (t *txn) change(e *validate.Election, emp *employment) (result, error) {
	p, py, err := t.planFor(e.EmployerID, e.PlanCode, e.EffectiveDate, "plan_code")
	if err != nil {
		return result{}, err
	}
	if err := t.checkWindow(e, py); err != nil {
		return result{}, err
	}
	scope := py.pk
	if p.typ == "HSA" {
		scope = 0
	}
	en, err := t.openEnrollment(emp.ID, e.PlanCode, scope)
	if err != nil {
		return result{}, err
	}
	if en == nil {
		return result{}, enrollsftp.Errorf(enrollsftp.EnrollmentNotFound, "plan_code",
			fmt.Sprintf("no open %s enrollment to change for this plan year", e.PlanCode))
	}
	dob, err := t.personDOB(emp.PersonID)
	if err != nil {
		return result{}, err
	}
	if err := t.checkLimit(p, py, e.CoverageTier, e.AnnualCents, dob); err != nil {
		return result{}, err
	}
	old, err := t.activeElection(en.ID)
	if err != nil {
		return result{}, err
	}
	var deducted int64
	if old != nil {
		if e.EffectiveDate < old.Effective {
			return result{}, enrollsftp.Errorf(enrollsftp.DateRangeInvalid, "effective_date",
				"is before the current election's effective date "+old.Effective)
		}
		if deducted, err = t.deductedUntil(e.EmployerID, py, old, e.EffectiveDate); err != nil {
			return result{}, err
		}
		if e.AnnualCents < deducted {
			return result{}, enrollsftp.Errorf(enrollsftp.InvalidAmount, "annual_amount",
				"is less than the "+enrollsftp.FormatCents(deducted)+" already deducted this plan year")
		}
	}
	per, periods, err := t.schedule(e.EmployerID, py, e.EffectiveDate, e.AnnualCents, deducted)
	if err != nil {
		return result{}, err
	}
	if err := t.retire(en.ID); err != nil {
		return result{}, err
	}
	el := &election{EnrollmentID: en.ID, AnnualCents: e.AnnualCents, Tier: e.CoverageTier, PerPeriod: per,
		Periods: periods, DeductedBefore: deducted, Effective: e.EffectiveDate}
	if err := t.insertElection(el); err != nil {
		return result{}, err
	}
	res := result{pending: en.Status == "PENDING_KYC", perPeriod: &per}
	if res.pending {
		res.warnings = enrollsftp.Errors{enrollsftp.Errorf(enrollsftp.KYCFailed, "", "the enrollment is held until KYC is approved")}
	}
	return res, nil
}

// unenroll ends non-HSA coverage on the end date. An HSA is never
// unenrolled: the person owns the account, so it can only be transferred.
func (t *txn) unenroll(e *validate.Election, emp *employment) (result, error) {
	typ, err := t.planType(e.EmployerID, e.PlanCode)
	if err != nil {
		return result{}, err
	}
	if typ == "HSA" {
		return result{}, enrollsftp.Errorf(enrollsftp.HSARequiresTransfer, "action",
			"an HSA belongs to the person and cannot be unenrolled: send a TRANSFER")
	}
	// The enrollment to end is the one of the plan year holding the end
	// date: a past year's FSA may still be open beside this year's.
	var scope int64
	if py, err := t.planYearAt(e.EmployerID, e.EndDate); err != nil {
		return result{}, err
	} else if py != nil {
		scope = py.pk
	}
	en, err := t.openEnrollment(emp.ID, e.PlanCode, scope)
	if err != nil {
		return result{}, err
	}
	if en == nil {
		return result{}, enrollsftp.Errorf(enrollsftp.EnrollmentNotFound, "plan_code",
			fmt.Sprintf("no open %s enrollment to end on %s", e.PlanCode, e.EndDate))
	}
	if e.EndDate < en.Effective {
		return result{}, enrollsftp.Errorf(enrollsftp.DateRangeInvalid, "end_date",
			"is before the enrollment's effective date "+en.Effective)
	}
	if err := t.setEnrollment(en, "TERMINATED", e.EndDate, en.Detached, "UNENROLL"); err != nil {
		return result{}, err
	}
	return result{}, t.retire(en.ID)
}

// transfer moves an HSA enrollment to another employer and HSA plan. The
// account, and its id, stay the same: a new enrollment points at it.
func (t *txn) transfer(e *validate.Election, emp *employment) (result, error) {
	typ, err := t.planType(e.EmployerID, e.PlanCode)
	if err != nil {
		return result{}, err
	}
	if typ != "HSA" {
		return result{}, enrollsftp.Errorf(enrollsftp.TransferNotSupported, "plan_code",
			fmt.Sprintf("only an HSA can be transferred; %s is %s: send an UNENROLL", e.PlanCode, typ))
	}
	from, err := t.openEnrollment(emp.ID, e.PlanCode, 0)
	if err != nil {
		return result{}, err
	}
	if from == nil || from.Status != "ACTIVE" {
		return result{}, enrollsftp.Errorf(enrollsftp.EnrollmentNotFound, "plan_code",
			fmt.Sprintf("no active %s enrollment to transfer", e.PlanCode))
	}
	if e.EffectiveDate < from.Effective {
		return result{}, enrollsftp.Errorf(enrollsftp.DateRangeInvalid, "effective_date",
			"is before the enrollment's effective date "+from.Effective)
	}
	if ok, err := t.employerExists(e.TransferEmployerID); err != nil {
		return result{}, err
	} else if !ok {
		return result{}, enrollsftp.Errorf(enrollsftp.EmployerNotFound, "transfer_employer_id",
			"employer "+e.TransferEmployerID+" is not in the plans")
	}
	to, err := t.transferEmployment(e, emp.PersonID)
	if err != nil {
		return result{}, err
	}
	p, py, err := t.planFor(e.TransferEmployerID, e.TransferPlanCode, e.EffectiveDate, "transfer_plan_code")
	if err != nil {
		return result{}, err
	}
	if p.typ != "HSA" {
		return result{}, enrollsftp.Errorf(enrollsftp.TransferNotSupported, "transfer_plan_code",
			fmt.Sprintf("an HSA can only move to an HSA plan; %s is %s", p.code, p.typ))
	}
	old, err := t.activeElection(from.ID)
	if err != nil {
		return result{}, err
	}
	tier, annual, deducted := e.CoverageTier, e.AnnualCents, int64(0)
	if old != nil && tier == "" {
		tier = old.Tier
	}
	if tier == "" {
		tier = validate.TierIndividual
	}
	if !e.HasAmount && old != nil {
		// The election carries over: what the old employer already deducted
		// this year counts, so the new payroll deducts only the rest.
		annual = old.AnnualCents
		if fromPY, err := t.planYearAt(from.EmployerID, e.EffectiveDate); err != nil {
			return result{}, err
		} else if fromPY != nil {
			if deducted, err = t.deductedUntil(from.EmployerID, fromPY, old, e.EffectiveDate); err != nil {
				return result{}, err
			}
			deducted = min(deducted, annual)
		}
	}
	dob, err := t.personDOB(emp.PersonID)
	if err != nil {
		return result{}, err
	}
	if err := t.checkLimit(p, py, tier, annual, dob); err != nil {
		return result{}, err
	}
	per, periods, err := t.schedule(e.TransferEmployerID, py, e.EffectiveDate, annual, deducted)
	if err != nil {
		return result{}, err
	}
	if err := t.retire(from.ID); err != nil {
		return result{}, err
	}
	if err := t.setEnrollment(from, "TRANSFERRED", e.EffectiveDate, from.Detached, "TRANSFER_OUT"); err != nil {
		return result{}, err
	}
	en := &enrollment{PersonID: emp.PersonID, EmploymentID: to.ID, AccountID: from.AccountID, PlanID: p.id,
		PlanYearPK: py.pk, EmployerID: e.TransferEmployerID, PlanCode: p.code, PlanType: p.typ, Status: "ACTIVE",
		Effective: e.EffectiveDate}
	if err := t.insertEnrollment(en); err != nil {
		return result{}, err
	}
	el := &election{EnrollmentID: en.ID, AnnualCents: annual, Tier: tier, PerPeriod: per, Periods: periods,
		DeductedBefore: deducted, Effective: e.EffectiveDate}
	if err := t.insertElection(el); err != nil {
		return result{}, err
	}
	return result{perPeriod: &per}, nil
}

// transferEmployment finds the person's employment at the new employer: by
// transfer_employee_id when given, else the person's only one there.
func (t *txn) transferEmployment(e *validate.Election, personID string) (*employment, error) {
	if e.TransferEmployeeID != "" {
		to, err := t.employment(e.TransferEmployerID, e.TransferEmployeeID)
		if err != nil {
			return nil, err
		}
		if to == nil || to.PersonID != personID {
			return nil, enrollsftp.Errorf(enrollsftp.IndividualNotFound, "transfer_employee_id",
				fmt.Sprintf("employee %s of employer %s is not this person in any census", e.TransferEmployeeID, e.TransferEmployerID))
		}
		return to, nil
	}
	var id sql.NullString
	var n int
	err := t.queryRow(`SELECT min(employee_id), count(*) FROM employments
		WHERE person_id = ? AND employer_id = ?`, personID, e.TransferEmployerID).Scan(&id, &n)
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, enrollsftp.Errorf(enrollsftp.IndividualNotFound, "transfer_employee_id",
			fmt.Sprintf("the person has %d employments at employer %s: name one in transfer_employee_id", n, e.TransferEmployerID))
	}
	return t.employment(e.TransferEmployerID, id.String)
}
