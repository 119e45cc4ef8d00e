package validate

import (
	"strings"

	"enrollsftp"
	"enrollsftp/ingest"
	"enrollsftp/schemas"
)

// Election actions.
const (
	ActionEnroll   = "ENROLL"
	ActionChange   = "CHANGE"
	ActionUnenroll = "UNENROLL"
	ActionTransfer = "TRANSFER"
)

// Coverage tiers.
const (
	TierIndividual = "INDIVIDUAL"
	TierFamily     = "FAMILY"
)

// Election reasons.
const (
	ReasonOpenEnrollment = "OPEN_ENROLLMENT"
	ReasonNewHire        = "NEW_HIRE"
	ReasonLifeEvent      = "LIFE_EVENT"
)

// Election is an election row with every value checked and normalized.
type Election struct {
	RecordID           string
	EmployerID         string
	EmployeeID         string
	PlanCode           string
	Action             string
	CoverageTier       string // "" when not given (TRANSFER keeps the old one)
	AnnualCents        int64
	HasAmount          bool
	EffectiveDate      string
	EndDate            string
	Reason             string
	TransferEmployerID string
	TransferEmployeeID string
	TransferPlanCode   string
}

// ElectionRow checks one election row and returns all its field errors. What
// an action needs besides the always-required columns:
//
//	ENROLL, CHANGE  coverage_tier, annual_amount, effective_date
//	UNENROLL        end_date (≥ effective_date when both are given)
//	TRANSFER        effective_date, transfer_employer_id, transfer_plan_code
func ElectionRow(row ingest.ElectionRow, layout *schemas.Layout) (Election, enrollsftp.Errors) {
	v := &checker{layout: layout}
	v.lengths(schemas.ElectionColumns, row.RecordID, row.EmployerID, row.EmployeeID, row.PlanCode, row.Action,
		row.CoverageTier, row.AnnualAmount, row.EffectiveDate, row.EndDate, row.Reason, row.TransferEmployerID,
		row.TransferEmployeeID, row.TransferPlanCode)
	e := Election{
		RecordID:           strings.TrimSpace(row.RecordID),
		EmployerID:         v.required("employer_id", row.EmployerID),
		EmployeeID:         v.required("employee_id", row.EmployeeID),
		PlanCode:           v.required("plan_code", row.PlanCode),
		TransferEmployeeID: strings.TrimSpace(row.TransferEmployeeID),
	}
	e.Action = strings.ToUpper(v.required("action", row.Action))
	switch e.Action {
	case "", ActionEnroll, ActionChange, ActionUnenroll, ActionTransfer:
	default:
		v.add(enrollsftp.InvalidAction, "action", "\""+strings.TrimSpace(row.Action)+"\" is not ENROLL, CHANGE, UNENROLL or TRANSFER")
	}
	needs := func(field, s string) string {
		if strings.TrimSpace(s) == "" {
			v.add(enrollsftp.RequiredFieldMissing, field, "is required for "+e.Action)
		}
		return strings.TrimSpace(s)
	}
	switch e.Action {
	case ActionEnroll, ActionChange:
		needs("coverage_tier", row.CoverageTier)
		needs("annual_amount", row.AnnualAmount)
		needs("effective_date", row.EffectiveDate)
	case ActionUnenroll:
		needs("end_date", row.EndDate)
	case ActionTransfer:
		needs("effective_date", row.EffectiveDate)
		e.TransferEmployerID = needs("transfer_employer_id", row.TransferEmployerID)
		e.TransferPlanCode = needs("transfer_plan_code", row.TransferPlanCode)
	}
	if t := strings.ToUpper(strings.TrimSpace(row.CoverageTier)); t != "" {
		if t != TierIndividual && t != TierFamily {
			v.add(enrollsftp.InvalidCoverageTier, "coverage_tier", "\""+strings.TrimSpace(row.CoverageTier)+"\" is not INDIVIDUAL or FAMILY")
		}
		e.CoverageTier = t
	}
	if a := strings.TrimSpace(row.AnnualAmount); a != "" {
		e.AnnualCents = v.cents(Amount("annual_amount", a))
		e.HasAmount = true
	}
	e.EffectiveDate = v.date("effective_date", row.EffectiveDate)
	e.EndDate = v.date("end_date", row.EndDate)
	if e.EffectiveDate != "" && e.EndDate != "" && e.EndDate < e.EffectiveDate {
		v.add(enrollsftp.DateRangeInvalid, "end_date", "is before effective_date")
	}
	e.Reason = strings.ToUpper(strings.TrimSpace(row.Reason))
	switch e.Reason {
	case "":
		e.Reason = ReasonOpenEnrollment
	case ReasonOpenEnrollment, ReasonNewHire, ReasonLifeEvent:
	default:
		v.add(enrollsftp.InvalidReason, "reason", "\""+strings.TrimSpace(row.Reason)+"\" is not OPEN_ENROLLMENT, NEW_HIRE or LIFE_EVENT")
	}
	return e, v.errs
}

func (v *checker) cents(c int64, err *enrollsftp.Error) int64 {
	if err != nil {
		v.errs = append(v.errs, err)
	}
	return c
}
