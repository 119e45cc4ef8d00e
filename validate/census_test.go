package validate

import (
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/ingest"
	"enrollsftp/schemas"
)

// censusNow is the fixed clock of the census tests.
var censusNow = time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)

func loadLayout(t testing.TB, name string) *schemas.Layout {
	t.Helper()
	l, err := schemas.Load(name, "")
	if err != nil {
		t.Fatalf("schemas.Load(%q): %v", name, err)
	}
	return l
}

// validCensus is a census row with every column filled and valid.
func validCensus() ingest.CensusRow {
	return ingest.CensusRow{
		RecordID:         "R-1",
		EmployerID:       "ACME",
		EmployeeID:       "E100",
		FirstName:        "Jane",
		MiddleName:       "Q",
		LastName:         "Doe",
		SSN:              "123-45-6789",
		DOB:              "1980-07-04",
		AddressLine1:     "1 Main St",
		AddressLine2:     "Apt 2",
		City:             "Boston",
		State:            "MA",
		ZIP:              "02134",
		Email:            "jane@example.com",
		Phone:            "(617) 555-1234",
		EmploymentStatus: "ACTIVE",
		HireDate:         "2020-01-15",
		TerminationDate:  "",
	}
}

// fieldsOf lists "CODE field" for each error, in order.
func fieldsOf(errs enrollsftp.Errors) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = string(e.Code) + " " + e.Field
	}
	return strings.Join(parts, ", ")
}

// assertRowSecretsHidden checks that no error message of a row shows its
// SSN or DOB.
func assertRowSecretsHidden(t *testing.T, errs enrollsftp.Errors, row ingest.CensusRow) {
	t.Helper()
	for _, e := range errs {
		if e.Message == "" {
			t.Errorf("%s %s: got empty message, want one", e.Code, e.Field)
		}
		assertNotLeaked(t, e, strings.TrimSpace(row.SSN))
		assertNotLeaked(t, e, strings.TrimSpace(row.DOB))
	}
}

func TestCensusRowValid(t *testing.T) {
	layout := loadLayout(t, "census.v1")
	tests := []struct {
		name   string
		modify func(r *ingest.CensusRow)
		want   Census
	}{
		{
			name:   "all columns",
			modify: func(r *ingest.CensusRow) {},
			want: Census{RecordID: "R-1", EmployerID: "ACME", EmployeeID: "E100", FirstName: "Jane", MiddleName: "Q",
				LastName: "Doe", SSN: "123456789", DOB: "1980-07-04", AddressLine1: "1 Main St", AddressLine2: "Apt 2",
				City: "Boston", State: "MA", ZIP: "02134", Email: "jane@example.com", Phone: "6175551234",
				EmploymentStatus: "ACTIVE", HireDate: "2020-01-15"},
		},
		{
			name: "normalized: padding, case, us dates, zip+4, +1 phone",
			modify: func(r *ingest.CensusRow) {
				*r = ingest.CensusRow{
					RecordID: "  R-2 ", EmployerID: " ACME ", EmployeeID: "\tE200", FirstName: " John ",
					MiddleName: "  ", LastName: "Smith\t", SSN: " 876543219 ", DOB: "02/29/1984",
					AddressLine1: " 9 Elm St ", City: " Springfield ", State: " ma ", ZIP: " 011031234 ",
					Email: " john@example.org ", Phone: " +1 413 555 0100 ", EmploymentStatus: " terminated ",
					HireDate: "3/5/2019", TerminationDate: "11/01/2026",
				}
			},
			want: Census{RecordID: "R-2", EmployerID: "ACME", EmployeeID: "E200", FirstName: "John",
				LastName: "Smith", SSN: "876543219", DOB: "1984-02-29", AddressLine1: "9 Elm St",
				City: "Springfield", State: "MA", ZIP: "01103-1234", Email: "john@example.org", Phone: "4135550100",
				EmploymentStatus: "TERMINATED", HireDate: "2019-03-05", TerminationDate: "2026-11-01"},
		},
		{
			name: "optional columns empty, status defaults to ACTIVE",
			modify: func(r *ingest.CensusRow) {
				r.RecordID, r.MiddleName, r.SSN, r.DOB, r.AddressLine2 = "", "", "", "", ""
				r.Email, r.Phone, r.EmploymentStatus, r.HireDate, r.TerminationDate = "", "", "", "", ""
			},
			want: Census{EmployerID: "ACME", EmployeeID: "E100", FirstName: "Jane", LastName: "Doe",
				AddressLine1: "1 Main St", City: "Boston", State: "MA", ZIP: "02134", EmploymentStatus: "ACTIVE"},
		},
		{
			name: "leave, lower case",
			modify: func(r *ingest.CensusRow) {
				r.EmploymentStatus = "Leave"
			},
			want: Census{RecordID: "R-1", EmployerID: "ACME", EmployeeID: "E100", FirstName: "Jane", MiddleName: "Q",
				LastName: "Doe", SSN: "123456789", DOB: "1980-07-04", AddressLine1: "1 Main St", AddressLine2: "Apt 2",
				City: "Boston", State: "MA", ZIP: "02134", Email: "jane@example.com", Phone: "6175551234",
				EmploymentStatus: "LEAVE", HireDate: "2020-01-15"},
		},
		{
			name: "termination on the hire date, mixed formats",
			modify: func(r *ingest.CensusRow) {
				r.EmploymentStatus, r.HireDate, r.TerminationDate = "TERMINATED", "06/30/2026", "2026-06-30"
			},
			want: Census{RecordID: "R-1", EmployerID: "ACME", EmployeeID: "E100", FirstName: "Jane", MiddleName: "Q",
				LastName: "Doe", SSN: "123456789", DOB: "1980-07-04", AddressLine1: "1 Main St", AddressLine2: "Apt 2",
				City: "Boston", State: "MA", ZIP: "02134", Email: "jane@example.com", Phone: "6175551234",
				EmploymentStatus: "TERMINATED", HireDate: "2026-06-30", TerminationDate: "2026-06-30"},
		},
		{
			name: "active with a termination date is kept",
			modify: func(r *ingest.CensusRow) {
				r.TerminationDate = "12/31/2026"
			},
			want: Census{RecordID: "R-1", EmployerID: "ACME", EmployeeID: "E100", FirstName: "Jane", MiddleName: "Q",
				LastName: "Doe", SSN: "123456789", DOB: "1980-07-04", AddressLine1: "1 Main St", AddressLine2: "Apt 2",
				City: "Boston", State: "MA", ZIP: "02134", Email: "jane@example.com", Phone: "6175551234",
				EmploymentStatus: "ACTIVE", HireDate: "2020-01-15", TerminationDate: "2026-12-31"},
		},
		{
			name: "dob today",
			modify: func(r *ingest.CensusRow) {
				r.DOB = "11/15/2026"
			},
			want: Census{RecordID: "R-1", EmployerID: "ACME", EmployeeID: "E100", FirstName: "Jane", MiddleName: "Q",
				LastName: "Doe", SSN: "123456789", DOB: "2026-11-15", AddressLine1: "1 Main St", AddressLine2: "Apt 2",
				City: "Boston", State: "MA", ZIP: "02134", Email: "jane@example.com", Phone: "6175551234",
				EmploymentStatus: "ACTIVE", HireDate: "2020-01-15"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := validCensus()
			tt.modify(&row)
			got, errs := CensusRow(row, layout, censusNow)
			if len(errs) != 0 {
				t.Fatalf("got errors %s, want none", fieldsOf(errs))
			}
			if got != tt.want {
				t.Errorf("got %+v,\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCensusRowErrors(t *testing.T) {
	layout := loadLayout(t, "census.v1")
	type fe struct {
		code  enrollsftp.Code
		field string
	}
	tests := []struct {
		name   string
		modify func(r *ingest.CensusRow)
		want   []fe
	}{
		{"employer_id missing", func(r *ingest.CensusRow) { r.EmployerID = "" },
			[]fe{{enrollsftp.RequiredFieldMissing, "employer_id"}}},
		{"employee_id blank", func(r *ingest.CensusRow) { r.EmployeeID = "   " },
			[]fe{{enrollsftp.RequiredFieldMissing, "employee_id"}}},
		{"first_name missing", func(r *ingest.CensusRow) { r.FirstName = "" },
			[]fe{{enrollsftp.RequiredFieldMissing, "first_name"}}},
		{"last_name missing", func(r *ingest.CensusRow) { r.LastName = "\t" },
			[]fe{{enrollsftp.RequiredFieldMissing, "last_name"}}},
		{"address_line1 missing", func(r *ingest.CensusRow) { r.AddressLine1 = "" },
			[]fe{{enrollsftp.RequiredFieldMissing, "address_line1"}}},
		{"city missing", func(r *ingest.CensusRow) { r.City = "" },
			[]fe{{enrollsftp.RequiredFieldMissing, "city"}}},
		{"state missing", func(r *ingest.CensusRow) { r.State = " " },
			[]fe{{enrollsftp.RequiredFieldMissing, "state"}}},
		{"zip missing", func(r *ingest.CensusRow) { r.ZIP = "" },
			[]fe{{enrollsftp.RequiredFieldMissing, "zip"}}},
		{"ssn too short", func(r *ingest.CensusRow) { r.SSN = "876-54-321" },
			[]fe{{enrollsftp.InvalidSSN, "ssn"}}},
		{"ssn area 666", func(r *ingest.CensusRow) { r.SSN = "666-54-3219" },
			[]fe{{enrollsftp.InvalidSSN, "ssn"}}},
		{"ssn area 9xx", func(r *ingest.CensusRow) { r.SSN = "987654321" },
			[]fe{{enrollsftp.InvalidSSN, "ssn"}}},
		{"ssn group 00", func(r *ingest.CensusRow) { r.SSN = "876-00-3219" },
			[]fe{{enrollsftp.InvalidSSN, "ssn"}}},
		{"ssn serial 0000", func(r *ingest.CensusRow) { r.SSN = "876-54-0000" },
			[]fe{{enrollsftp.InvalidSSN, "ssn"}}},
		{"dob in the future", func(r *ingest.CensusRow) { r.DOB = "2026-11-16" },
			[]fe{{enrollsftp.InvalidDOB, "dob"}}},
		{"dob before 1900", func(r *ingest.CensusRow) { r.DOB = "12/31/1899" },
			[]fe{{enrollsftp.InvalidDOB, "dob"}}},
		{"dob not a date", func(r *ingest.CensusRow) { r.DOB = "1980-02-30" },
			[]fe{{enrollsftp.InvalidDOB, "dob"}}},
		{"dob day first", func(r *ingest.CensusRow) { r.DOB = "31.12.1980" },
			[]fe{{enrollsftp.InvalidDOB, "dob"}}},
		{"state unknown", func(r *ingest.CensusRow) { r.State = "XX" },
			[]fe{{enrollsftp.InvalidState, "state"}}},
		{"state spelled out", func(r *ingest.CensusRow) { r.State = "Massachusetts" },
			[]fe{{enrollsftp.InvalidState, "state"}}},
		{"zip four digits", func(r *ingest.CensusRow) { r.ZIP = "2134" },
			[]fe{{enrollsftp.InvalidZIP, "zip"}}},
		{"zip letters", func(r *ingest.CensusRow) { r.ZIP = "ABCDE" },
			[]fe{{enrollsftp.InvalidZIP, "zip"}}},
		{"email without domain", func(r *ingest.CensusRow) { r.Email = "jane@" },
			[]fe{{enrollsftp.InvalidEmail, "email"}}},
		{"email with display name", func(r *ingest.CensusRow) { r.Email = "Jane <jane@example.com>" },
			[]fe{{enrollsftp.InvalidEmail, "email"}}},
		{"phone too short", func(r *ingest.CensusRow) { r.Phone = "555-1234" },
			[]fe{{enrollsftp.InvalidPhone, "phone"}}},
		{"phone letters", func(r *ingest.CensusRow) { r.Phone = "617-555-CALL" },
			[]fe{{enrollsftp.InvalidPhone, "phone"}}},
		{"hire_date not a date", func(r *ingest.CensusRow) { r.HireDate = "2020-02-30" },
			[]fe{{enrollsftp.InvalidDate, "hire_date"}}},
		{"hire_date day first", func(r *ingest.CensusRow) { r.HireDate = "15/01/2020" },
			[]fe{{enrollsftp.InvalidDate, "hire_date"}}},
		{"hire_date unpadded iso", func(r *ingest.CensusRow) { r.HireDate = "2020-1-5" },
			[]fe{{enrollsftp.InvalidDate, "hire_date"}}},
		{"termination_date not a date", func(r *ingest.CensusRow) { r.TerminationDate = "soon" },
			[]fe{{enrollsftp.InvalidDate, "termination_date"}}},
		{"employment_status unknown", func(r *ingest.CensusRow) { r.EmploymentStatus = "RETIRED" },
			[]fe{{enrollsftp.InvalidEmploymentStatus, "employment_status"}}},
		{"termination before hire", func(r *ingest.CensusRow) {
			r.EmploymentStatus, r.TerminationDate = "TERMINATED", "01/14/2020"
		}, []fe{{enrollsftp.DateRangeInvalid, "termination_date"}}},
		{"terminated without termination_date", func(r *ingest.CensusRow) {
			r.EmploymentStatus, r.TerminationDate = "terminated", " "
		}, []fe{{enrollsftp.RequiredFieldMissing, "termination_date"}}},
		{"terminated with a bad termination_date", func(r *ingest.CensusRow) {
			r.EmploymentStatus, r.TerminationDate = "TERMINATED", "2026-13-01"
		}, []fe{{enrollsftp.InvalidDate, "termination_date"}}},
		{"bad hire_date hides the range check", func(r *ingest.CensusRow) {
			r.HireDate, r.TerminationDate = "someday", "2019-01-01"
		}, []fe{{enrollsftp.InvalidDate, "hire_date"}}},
		{"every required field missing", func(r *ingest.CensusRow) {
			*r = ingest.CensusRow{}
		}, []fe{
			{enrollsftp.RequiredFieldMissing, "employer_id"},
			{enrollsftp.RequiredFieldMissing, "employee_id"},
			{enrollsftp.RequiredFieldMissing, "first_name"},
			{enrollsftp.RequiredFieldMissing, "last_name"},
			{enrollsftp.RequiredFieldMissing, "address_line1"},
			{enrollsftp.RequiredFieldMissing, "city"},
			{enrollsftp.RequiredFieldMissing, "state"},
			{enrollsftp.RequiredFieldMissing, "zip"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := validCensus()
			tt.modify(&row)
			_, errs := CensusRow(row, layout, censusNow)
			var want []string
			for _, w := range tt.want {
				want = append(want, string(w.code)+" "+w.field)
			}
			if got, want := fieldsOf(errs), strings.Join(want, ", "); got != want {
				t.Errorf("got errors %q, want %q", got, want)
			}
			assertRowSecretsHidden(t, errs, row)
		})
	}
}

// TestCensusRowAllErrorsAtOnce: a row with many problems reports every one
// of them, in column order, not just the first.
func TestCensusRowAllErrorsAtOnce(t *testing.T) {
	layout := loadLayout(t, "census.v1")
	tests := []struct {
		name      string
		row       ingest.CensusRow
		wantCodes string
		wantLen   int
	}{
		{
			name: "every kind of field error",
			row: ingest.CensusRow{
				RecordID: "R-9", EmployerID: "ACME", EmployeeID: "E9", FirstName: "", LastName: "",
				SSN: "000-87-6543", DOB: "2031-04-05", AddressLine1: "1 Main St", City: "",
				State: "XX", ZIP: "1234", Email: "not-an-email", Phone: "123", EmploymentStatus: "FIRED",
				HireDate: "13/45/2020", TerminationDate: "tomorrow",
			},
			wantCodes: "REQUIRED_FIELD_MISSING;INVALID_STATE;INVALID_ZIP;INVALID_SSN;INVALID_DOB;INVALID_EMAIL;" +
				"INVALID_PHONE;INVALID_EMPLOYMENT_STATUS;INVALID_DATE",
			wantLen: 12, // first_name, last_name, city, state, zip, ssn, dob, email, phone, status, hire, termination
		},
		{
			name: "terminated with a range error and format errors",
			row: ingest.CensusRow{
				EmployerID: "ACME", EmployeeID: "E9", FirstName: "Jane", LastName: "Doe",
				SSN: "876-54-0000", DOB: "1879-01-01", AddressLine1: "1 Main St", City: "Boston",
				State: "MA", ZIP: "ABCDE", Phone: "617-555-12345", EmploymentStatus: "TERMINATED",
				HireDate: "2024-05-01", TerminationDate: "04/30/2024",
			},
			wantCodes: "INVALID_ZIP;INVALID_SSN;INVALID_DOB;INVALID_PHONE;DATE_RANGE_INVALID",
			wantLen:   5,
		},
		{
			name: "terminated without a date, and missing names",
			row: ingest.CensusRow{
				EmployerID: "ACME", EmployeeID: "E9", AddressLine1: "1 Main St", City: "Boston",
				State: "ZZ", ZIP: "02134", EmploymentStatus: "terminated", HireDate: "not a date",
			},
			wantCodes: "REQUIRED_FIELD_MISSING;INVALID_STATE;INVALID_DATE",
			wantLen:   5, // first_name, last_name, state, hire_date, termination_date
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := CensusRow(tt.row, layout, censusNow)
			if got := errs.Codes(); got != tt.wantCodes {
				t.Errorf("got codes %q, want %q", got, tt.wantCodes)
			}
			if len(errs) != tt.wantLen {
				t.Errorf("got %d errors (%s), want %d", len(errs), fieldsOf(errs), tt.wantLen)
			}
			assertRowSecretsHidden(t, errs, tt.row)
		})
	}
}
