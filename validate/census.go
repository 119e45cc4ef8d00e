package validate

import (
	"fmt"
	"strings"
	"time"

	"enrollsftp"
	"enrollsftp/ingest"
	"enrollsftp/schemas"
)

// Employment statuses of a census row.
const (
	StatusActive     = "ACTIVE"
	StatusLeave      = "LEAVE"
	StatusTerminated = "TERMINATED"
)

// Census is a census row with every value checked and normalized: trimmed,
// codes upper-cased, dates ISO 8601, SSN as nine digits ("" when absent).
type Census struct {
	RecordID         string
	EmployerID       string
	EmployeeID       string
	FirstName        string
	MiddleName       string
	LastName         string
	SSN              string
	DOB              string
	AddressLine1     string
	AddressLine2     string
	City             string
	State            string
	ZIP              string
	Email            string
	Phone            string
	EmploymentStatus string
	HireDate         string
	TerminationDate  string
}

// CensusRow checks one census row and returns all its field errors at once.
func CensusRow(row ingest.CensusRow, layout *schemas.Layout, now time.Time) (Census, enrollsftp.Errors) {
	v := &checker{layout: layout}
	v.lengths(schemas.CensusColumns, row.RecordID, row.EmployerID, row.EmployeeID, row.FirstName, row.MiddleName,
		row.LastName, row.SSN, row.DOB, row.AddressLine1, row.AddressLine2, row.City, row.State, row.ZIP, row.Email,
		row.Phone, row.EmploymentStatus, row.HireDate, row.TerminationDate)
	c := Census{
		RecordID:     strings.TrimSpace(row.RecordID),
		EmployerID:   v.required("employer_id", row.EmployerID),
		EmployeeID:   v.required("employee_id", row.EmployeeID),
		FirstName:    v.required("first_name", row.FirstName),
		MiddleName:   strings.TrimSpace(row.MiddleName),
		LastName:     v.required("last_name", row.LastName),
		AddressLine1: v.required("address_line1", row.AddressLine1),
		AddressLine2: strings.TrimSpace(row.AddressLine2),
		City:         v.required("city", row.City),
	}
	if s := v.required("state", row.State); s != "" {
		c.State = v.check(State(s))
	}
	if z := v.required("zip", row.ZIP); z != "" {
		c.ZIP = v.check(ZIP(z))
	}
	if s := strings.TrimSpace(row.SSN); s != "" {
		c.SSN = v.check(SSN(s))
	}
	if d := strings.TrimSpace(row.DOB); d != "" {
		t, err := DOB(func(s string) (time.Time, bool) { return layout.ParseDate("dob", s) }, d, now)
		if err != nil {
			v.errs = append(v.errs, err)
		} else {
			c.DOB = t.Format(ISODate)
		}
	}
	if e := strings.TrimSpace(row.Email); e != "" {
		c.Email = v.check(Email(e))
	}
	if p := strings.TrimSpace(row.Phone); p != "" {
		c.Phone = v.check(Phone(p))
	}
	c.EmploymentStatus = strings.ToUpper(strings.TrimSpace(row.EmploymentStatus))
	switch c.EmploymentStatus {
	case "":
		c.EmploymentStatus = StatusActive
	case StatusActive, StatusLeave, StatusTerminated:
	default:
		v.add(enrollsftp.InvalidEmploymentStatus, "employment_status", "must be ACTIVE, LEAVE or TERMINATED")
	}
	c.HireDate = v.date("hire_date", row.HireDate)
	c.TerminationDate = v.date("termination_date", row.TerminationDate)
	if c.EmploymentStatus == StatusTerminated && strings.TrimSpace(row.TerminationDate) == "" {
		v.add(enrollsftp.RequiredFieldMissing, "termination_date", "is required when employment_status is TERMINATED")
	}
	if c.HireDate != "" && c.TerminationDate != "" && c.TerminationDate < c.HireDate {
		v.add(enrollsftp.DateRangeInvalid, "termination_date", "is before hire_date")
	}
	return c, v.errs
}

// MaxFieldLength bounds every value: no name, address or code is longer,
// and the ledger and the outputs should not carry a megabyte cell. The
// ingest reader already cuts a longer field and reports it FIELD_TOO_LONG;
// this check stands for rows that come from anywhere else.
const MaxFieldLength = ingest.MaxFieldLength

// lengths reports every value longer than MaxFieldLength; values are
// given in the order of names.
func (v *checker) lengths(names []string, values ...string) {
	for i, s := range values {
		if len(s) > MaxFieldLength {
			v.add(enrollsftp.FieldTooLong, names[i], fmt.Sprintf("is %d bytes long; the limit is %d", len(s), MaxFieldLength))
		}
	}
}

// checker collects the errors of one row.
type checker struct {
	layout *schemas.Layout
	errs   enrollsftp.Errors
}

func (v *checker) add(code enrollsftp.Code, field, msg string) {
	v.errs = append(v.errs, enrollsftp.Errorf(code, field, msg))
}

func (v *checker) required(field, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		v.add(enrollsftp.RequiredFieldMissing, field, "is required")
	}
	return s
}

func (v *checker) check(s string, err *enrollsftp.Error) string {
	if err != nil {
		v.errs = append(v.errs, err)
	}
	return s
}

// date parses an optional date in the layout's formats into ISO 8601.
func (v *checker) date(field, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	t, ok := v.layout.ParseDate(field, s)
	if !ok {
		v.add(enrollsftp.InvalidDate, field, "\""+s+"\" is not a valid date in the layout's formats")
		return ""
	}
	return t.Format(ISODate)
}
