package validate

import (
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/ingest"
	"enrollsftp/schemas"
)

// The codes the row validators may return (SPEC §6 plus
// INVALID_EMPLOYMENT_STATUS).
var (
	censusCodes = map[enrollsftp.Code]bool{
		enrollsftp.RequiredFieldMissing: true, enrollsftp.FieldTooLong: true, enrollsftp.InvalidSSN: true, enrollsftp.InvalidDOB: true,
		enrollsftp.InvalidState: true, enrollsftp.InvalidZIP: true, enrollsftp.InvalidEmail: true,
		enrollsftp.InvalidPhone: true, enrollsftp.InvalidDate: true, enrollsftp.InvalidEmploymentStatus: true,
		enrollsftp.DateRangeInvalid: true,
	}
	electionCodes = map[enrollsftp.Code]bool{
		enrollsftp.RequiredFieldMissing: true, enrollsftp.FieldTooLong: true, enrollsftp.InvalidAction: true,
		enrollsftp.InvalidCoverageTier: true, enrollsftp.InvalidAmount: true, enrollsftp.InvalidDate: true,
		enrollsftp.DateRangeInvalid: true, enrollsftp.InvalidReason: true,
	}
)

var (
	nineDigits  = regexp.MustCompile(`^\d{9}$`)
	tenDigits   = regexp.MustCompile(`^[2-9]\d{2}[2-9]\d{6}$`)
	normZIP     = regexp.MustCompile(`^\d{5}(-\d{4})?$`)
	plainAmount = regexp.MustCompile(`^\d{1,8}(\.\d{1,2})?$`) // at most $99,999,999.99: always valid
)

func columnSet(cols []string) map[string]bool {
	m := make(map[string]bool, len(cols))
	for _, c := range cols {
		m[c] = true
	}
	return m
}

// checkRowErrors asserts what holds for any error list of a row.
func checkRowErrors(t *testing.T, errs enrollsftp.Errors, codes map[enrollsftp.Code]bool, columns map[string]bool) {
	t.Helper()
	for _, e := range errs {
		if e == nil {
			t.Fatal("got a nil error in the list")
		}
		if e.Code == "" || !codes[e.Code] {
			t.Errorf("got code %q, want one of the known codes", e.Code)
		}
		if e.Message == "" {
			t.Errorf("%s: got empty message, want one", e.Code)
		}
		if !columns[e.Field] {
			t.Errorf("%s: got field %q, want a canonical column", e.Code, e.Field)
		}
	}
}

// checkISODate asserts s is "" or a date in the ledger's format.
func checkISODate(t *testing.T, field, s string) {
	t.Helper()
	if s == "" {
		return
	}
	if _, err := time.Parse(ISODate, s); err != nil {
		t.Errorf("%s: got %q, want a %s date", field, s, ISODate)
	}
}

// checkTrimmedNonEmpty asserts a required value was trimmed and is there.
func checkTrimmedNonEmpty(t *testing.T, field, s string) {
	t.Helper()
	if s == "" || s != strings.TrimSpace(s) {
		t.Errorf("%s: got %q, want a non-empty trimmed value", field, s)
	}
}

func FuzzCensusRow(f *testing.F) {
	layout := loadLayout(f, "census.v1")
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	columns := columnSet(schemas.CensusColumns)
	f.Add("R-1", "ACME", "E100", "Jane", "Q", "Doe", "123-45-6789", "1980-07-04", "1 Main St", "Apt 2",
		"Boston", "MA", "02134", "jane@example.com", "(617) 555-1234", "ACTIVE", "2020-01-15", "")
	f.Add("", " acme ", "E2", "J", "", "D", "876543219", "07/04/1980", "x", "", "y", "pr", "009011234",
		"", "+1 787 555 0100", "terminated", "1/2/2010", "12/31/2025")
	f.Add("", "", "", "", "", "", "000-00-0000", "2026-02-30", "", "", "", "XX", "1234", "a@b", "123",
		"FIRED", "13/45/2020", "x")
	f.Add("R", "A", "E", "F", "M", "L", "", "1899-12-31", "1", "", "C", "dc", "20001-0001", "A@B.CO",
		"", "leave", "2020-01-01", "2019-12-31")
	f.Fuzz(func(t *testing.T, recordID, employerID, employeeID, first, middle, last, ssn, dob,
		addr1, addr2, city, state, zip, email, phone, status, hire, term string) {
		row := ingest.CensusRow{RecordID: recordID, EmployerID: employerID, EmployeeID: employeeID,
			FirstName: first, MiddleName: middle, LastName: last, SSN: ssn, DOB: dob, AddressLine1: addr1,
			AddressLine2: addr2, City: city, State: state, ZIP: zip, Email: email, Phone: phone,
			EmploymentStatus: status, HireDate: hire, TerminationDate: term}
		c, errs := CensusRow(row, layout, now)
		checkRowErrors(t, errs, censusCodes, columns)
		for _, e := range errs {
			// The SSN and DOB errors never echo what was sent.
			if e.Field == "ssn" {
				assertNoSSN(t, e, strings.TrimSpace(ssn))
			}
			// (Six digits or more: no message text has that many.)
			if d := strings.TrimSpace(dob); e.Field == "dob" && countDigits(d) >= 6 && strings.Contains(e.Error(), d) {
				t.Errorf("dob: message %q shows the value", e.Message)
			}
		}
		if fp := CensusFingerprint(row); !hexSHA256.MatchString(fp) {
			t.Errorf("got fingerprint %q, want 64 hex digits", fp)
		}
		if len(errs) > 0 {
			return
		}
		for field, v := range map[string]string{"employer_id": c.EmployerID, "employee_id": c.EmployeeID,
			"first_name": c.FirstName, "last_name": c.LastName, "address_line1": c.AddressLine1, "city": c.City} {
			checkTrimmedNonEmpty(t, field, v)
		}
		if c.SSN != "" && !nineDigits.MatchString(c.SSN) {
			t.Errorf("ssn: got %q, want \"\" or 9 digits", c.SSN)
		}
		if c.SSN != "" {
			if _, err := SSN(c.SSN); err != nil {
				t.Errorf("ssn: normalized %q fails SSN: %v", c.SSN, err)
			}
		}
		if !ValidState(c.State) {
			t.Errorf("state: got %q, want a USPS code", c.State)
		}
		if !normZIP.MatchString(c.ZIP) {
			t.Errorf("zip: got %q, want 12345 or 12345-6789", c.ZIP)
		}
		if c.Phone != "" && !tenDigits.MatchString(c.Phone) {
			t.Errorf("phone: got %q, want 10 digits", c.Phone)
		}
		if c.Email != "" && c.Email != strings.TrimSpace(c.Email) {
			t.Errorf("email: got %q, want it trimmed", c.Email)
		}
		switch c.EmploymentStatus {
		case StatusActive, StatusLeave, StatusTerminated:
		default:
			t.Errorf("employment_status: got %q, want ACTIVE, LEAVE or TERMINATED", c.EmploymentStatus)
		}
		checkISODate(t, "dob", c.DOB)
		checkISODate(t, "hire_date", c.HireDate)
		checkISODate(t, "termination_date", c.TerminationDate)
		if c.DOB != "" && (c.DOB < "1900-01-01" || c.DOB > now.Format(ISODate)) {
			t.Errorf("dob: got %q, want between 1900-01-01 and today", c.DOB)
		}
		if c.HireDate != "" && c.TerminationDate != "" && c.TerminationDate < c.HireDate {
			t.Errorf("got termination %s before hire %s, want no earlier", c.TerminationDate, c.HireDate)
		}
		if c.EmploymentStatus == StatusTerminated && c.TerminationDate == "" {
			t.Errorf("got TERMINATED without a termination_date")
		}
		// Normalizing is idempotent: the normalized row passes and stays.
		again, errs := CensusRow(ingest.CensusRow{RecordID: c.RecordID, EmployerID: c.EmployerID,
			EmployeeID: c.EmployeeID, FirstName: c.FirstName, MiddleName: c.MiddleName, LastName: c.LastName,
			SSN: c.SSN, DOB: c.DOB, AddressLine1: c.AddressLine1, AddressLine2: c.AddressLine2, City: c.City,
			State: c.State, ZIP: c.ZIP, Email: c.Email, Phone: c.Phone, EmploymentStatus: c.EmploymentStatus,
			HireDate: c.HireDate, TerminationDate: c.TerminationDate}, layout, now)
		if len(errs) != 0 {
			t.Fatalf("normalized row %+v: got errors %s, want none", c, fieldsOf(errs))
		}
		if again != c {
			t.Errorf("normalizing twice: got %+v, want %+v", again, c)
		}
	})
}

func FuzzElectionRow(f *testing.F) {
	layout := loadLayout(f, "elections.v1")
	columns := columnSet(schemas.ElectionColumns)
	f.Add("EL-1", "ACME", "E100", "FSA2026", "ENROLL", "INDIVIDUAL", "1200.00", "2026-01-01", "", "",
		"", "", "")
	f.Add("", "ACME", "E100", "HSA", "transfer", "", "", "7/1/2026", "", "new_hire", "GLOBEX", "G-7", "HSA-G")
	f.Add("", "ACME", "E100", "FSA", "UNENROLL", "family", "$1,234.5", "2026-07-01", "06/30/2026",
		"LIFE_EVENT", "", "", "")
	f.Add("", "", "", "", "CANCEL", "COUPLE", "-1", "2026-02-30", "x", "MARRIAGE", "", "", "")
	f.Add("r", "a", "e", "p", " change ", " Family ", "0.29", "01/01/2026", "12/31/2026", " ", "", "", "")
	f.Fuzz(func(t *testing.T, recordID, employerID, employeeID, planCode, action, tier, amount,
		effective, end, reason, trEmployer, trEmployee, trPlan string) {
		row := ingest.ElectionRow{RecordID: recordID, EmployerID: employerID, EmployeeID: employeeID,
			PlanCode: planCode, Action: action, CoverageTier: tier, AnnualAmount: amount,
			EffectiveDate: effective, EndDate: end, Reason: reason, TransferEmployerID: trEmployer,
			TransferEmployeeID: trEmployee, TransferPlanCode: trPlan}
		e, errs := ElectionRow(row, layout)
		checkRowErrors(t, errs, electionCodes, columns)
		if fp := ElectionFingerprint(row); !hexSHA256.MatchString(fp) {
			t.Errorf("got fingerprint %q, want 64 hex digits", fp)
		}
		if len(errs) > 0 {
			return
		}
		for field, v := range map[string]string{"employer_id": e.EmployerID, "employee_id": e.EmployeeID,
			"plan_code": e.PlanCode} {
			checkTrimmedNonEmpty(t, field, v)
		}
		switch e.Action {
		case ActionEnroll, ActionChange:
			if e.CoverageTier == "" || !e.HasAmount || e.EffectiveDate == "" {
				t.Errorf("%s: got tier %q, amount %v, effective %q, want all three", e.Action, e.CoverageTier,
					e.HasAmount, e.EffectiveDate)
			}
		case ActionUnenroll:
			if e.EndDate == "" {
				t.Errorf("UNENROLL: got no end_date, want one")
			}
		case ActionTransfer:
			if e.EffectiveDate == "" {
				t.Errorf("TRANSFER: got no effective_date, want one")
			}
			checkTrimmedNonEmpty(t, "transfer_employer_id", e.TransferEmployerID)
			checkTrimmedNonEmpty(t, "transfer_plan_code", e.TransferPlanCode)
		default:
			t.Errorf("action: got %q, want ENROLL, CHANGE, UNENROLL or TRANSFER", e.Action)
		}
		switch e.CoverageTier {
		case "", TierIndividual, TierFamily:
		default:
			t.Errorf("coverage_tier: got %q, want \"\", INDIVIDUAL or FAMILY", e.CoverageTier)
		}
		switch e.Reason {
		case ReasonOpenEnrollment, ReasonNewHire, ReasonLifeEvent:
		default:
			t.Errorf("reason: got %q, want OPEN_ENROLLMENT, NEW_HIRE or LIFE_EVENT", e.Reason)
		}
		if e.AnnualCents < 0 || !e.HasAmount && e.AnnualCents != 0 {
			t.Errorf("got %d cents (has amount %v), want >= 0 and 0 when absent", e.AnnualCents, e.HasAmount)
		}
		checkISODate(t, "effective_date", e.EffectiveDate)
		checkISODate(t, "end_date", e.EndDate)
		if e.EffectiveDate != "" && e.EndDate != "" && e.EndDate < e.EffectiveDate {
			t.Errorf("got end %s before effective %s, want no earlier", e.EndDate, e.EffectiveDate)
		}
		// Normalizing is idempotent.
		amt := ""
		if e.HasAmount {
			amt = enrollsftp.FormatCents(e.AnnualCents)
		}
		again, errs := ElectionRow(ingest.ElectionRow{RecordID: e.RecordID, EmployerID: e.EmployerID,
			EmployeeID: e.EmployeeID, PlanCode: e.PlanCode, Action: e.Action, CoverageTier: e.CoverageTier,
			AnnualAmount: amt, EffectiveDate: e.EffectiveDate, EndDate: e.EndDate, Reason: e.Reason,
			TransferEmployerID: e.TransferEmployerID, TransferEmployeeID: e.TransferEmployeeID,
			TransferPlanCode: e.TransferPlanCode}, layout)
		if len(errs) != 0 {
			t.Fatalf("normalized row %+v: got errors %s, want none", e, fieldsOf(errs))
		}
		if again != e {
			t.Errorf("normalizing twice: got %+v, want %+v", again, e)
		}
	})
}

// ratCents is an independent reading of a dollar amount the validator
// accepted: strip "$" and ",", let math/big do the arithmetic.
func ratCents(s string) (*big.Rat, bool) {
	s = strings.ReplaceAll(strings.TrimPrefix(s, "$"), ",", "")
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	return r.Mul(r, big.NewRat(100, 1)), true
}

func FuzzAmount(f *testing.F) {
	for _, s := range []string{"1200", "1200.5", "1,200.00", "$5.01", "0", "0.29", "1234567.89", "-1", "1.234",
		"abc", "1,20", "", "99999999999999999999999", "100000000", "100000000.01", "$", ".5", "1e3", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cents, err := Amount("annual_amount", s)
		if err != nil {
			if err.Code != enrollsftp.InvalidAmount || err.Field != "annual_amount" || err.Message == "" {
				t.Errorf("got error %+v, want INVALID_AMOUNT on annual_amount with a message", err)
			}
			if cents != 0 {
				t.Errorf("got %d cents with an error, want 0", cents)
			}
			if plainAmount.MatchString(s) {
				t.Errorf("%q: got error %v, want it accepted", s, err)
			}
			return
		}
		if cents < 0 {
			t.Fatalf("%q: got %d cents, want >= 0", s, cents)
		}
		want, ok := ratCents(s)
		if !ok || !want.IsInt() || want.Num().Int64() != cents {
			t.Errorf("%q: got %d cents, want %v", s, cents, want)
		}
		formatted := enrollsftp.FormatCents(cents)
		back, err := Amount("annual_amount", formatted)
		if err != nil {
			t.Fatalf("%q: FormatCents(%d) = %q fails to parse: %v", s, cents, formatted, err)
		}
		if back != cents {
			t.Errorf("%q: got %d cents after %q, want %d", s, back, formatted, cents)
		}
	})
}

// ssnExamples is the example text of the format message; a fuzzed value
// that happens to be part of it is not a leak.
const ssnExamples = "123-45-6789 or 123456789"

// assertNoSSN fails when an SSN error shows a nine-digit value it was given.
func assertNoSSN(t *testing.T, e *enrollsftp.Error, s string) {
	t.Helper()
	if len(s) < 9 || strings.Trim(s, "0123456789-") != "" || strings.Contains(ssnExamples, s) {
		return
	}
	if strings.Contains(e.Message, s) || strings.Contains(e.Error(), s) {
		t.Errorf("%q: error %q shows the value", s, e.Error())
	}
}

func FuzzSSN(f *testing.F) {
	for _, s := range []string{"123-45-6789", "123456789", "000-12-3456", "666-12-3456", "900-12-3456",
		"123-00-4567", "123-45-0000", "12345678", "1234567890", "123-456789", "abc-de-fghi", "", "١٢٣-٤٥-٦٧٨٩"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := SSN(s)
		if err != nil {
			if err.Code != enrollsftp.InvalidSSN || err.Field != "ssn" || err.Message == "" {
				t.Errorf("got error %+v, want INVALID_SSN on ssn with a message", err)
			}
			if got != "" {
				t.Errorf("got %q with an error, want \"\"", got)
			}
			assertNoSSN(t, err, s)
			return
		}
		if !nineDigits.MatchString(got) {
			t.Fatalf("%q: got %q, want 9 digits", s, got)
		}
		if s != got && s != got[:3]+"-"+got[3:5]+"-"+got[5:] {
			t.Errorf("%q: got %q, want the same digits as given", s, got)
		}
		if area := got[:3]; area == "000" || area == "666" || area[0] == '9' || got[3:5] == "00" || got[5:] == "0000" {
			t.Errorf("%q: got %q accepted, want area, group and serial checks", s, got)
		}
		// The result is a fixed point.
		if again, err := SSN(got); err != nil || again != got {
			t.Errorf("SSN(%q) = %q, %v; want %q, nil", got, again, err, got)
		}
	})
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
