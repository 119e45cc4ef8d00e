package ingest

// CensusRow is one census record as the vendor wrote it. Values are raw
// strings: turning them into typed values is validate's job, so that a bad
// value becomes a row error with a code, never a decode failure.
//
// Field order is the canonical column order of schemas.CensusColumns: rows
// are decoded by position (see decodeRow).
type CensusRow struct {
	RecordID         string `csv:"record_id"`
	EmployerID       string `csv:"employer_id"`
	EmployeeID       string `csv:"employee_id"`
	FirstName        string `csv:"first_name"`
	MiddleName       string `csv:"middle_name"`
	LastName         string `csv:"last_name"`
	SSN              string `csv:"ssn"`
	DOB              string `csv:"dob"`
	AddressLine1     string `csv:"address_line1"`
	AddressLine2     string `csv:"address_line2"`
	City             string `csv:"city"`
	State            string `csv:"state"`
	ZIP              string `csv:"zip"`
	Email            string `csv:"email"`
	Phone            string `csv:"phone"`
	EmploymentStatus string `csv:"employment_status"`
	HireDate         string `csv:"hire_date"`
	TerminationDate  string `csv:"termination_date"`
}

// ElectionRow is one election record as the vendor wrote it, in the
// canonical column order of schemas.ElectionColumns.
type ElectionRow struct {
	RecordID           string `csv:"record_id"`
	EmployerID         string `csv:"employer_id"`
	EmployeeID         string `csv:"employee_id"`
	PlanCode           string `csv:"plan_code"`
	Action             string `csv:"action"`
	CoverageTier       string `csv:"coverage_tier"`
	AnnualAmount       string `csv:"annual_amount"`
	EffectiveDate      string `csv:"effective_date"`
	EndDate            string `csv:"end_date"`
	Reason             string `csv:"reason"`
	TransferEmployerID string `csv:"transfer_employer_id"`
	TransferEmployeeID string `csv:"transfer_employee_id"`
	TransferPlanCode   string `csv:"transfer_plan_code"`
}
