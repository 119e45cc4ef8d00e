package validate

import (
	"strings"
	"testing"

	"enrollsftp"
	"enrollsftp/ingest"
)

// enrollRow is a valid ENROLL election row.
func enrollRow() ingest.ElectionRow {
	return ingest.ElectionRow{
		RecordID:      "EL-1",
		EmployerID:    "ACME",
		EmployeeID:    "E100",
		PlanCode:      "FSA2026",
		Action:        "ENROLL",
		CoverageTier:  "INDIVIDUAL",
		AnnualAmount:  "1200.00",
		EffectiveDate: "2026-01-01",
	}
}

func TestElectionRowValid(t *testing.T) {
	layout := loadLayout(t, "elections.v1")
	base := Election{RecordID: "EL-1", EmployerID: "ACME", EmployeeID: "E100", PlanCode: "FSA2026",
		Action: "ENROLL", CoverageTier: "INDIVIDUAL", AnnualCents: 120000, HasAmount: true,
		EffectiveDate: "2026-01-01", Reason: "OPEN_ENROLLMENT"}
	with := func(f func(e *Election)) Election {
		e := base
		f(&e)
		return e
	}
	tests := []struct {
		name   string
		modify func(r *ingest.ElectionRow)
		want   Election
	}{
		{"enroll, reason defaults to OPEN_ENROLLMENT", func(r *ingest.ElectionRow) {}, base},
		{"enroll, blank reason defaults", func(r *ingest.ElectionRow) { r.Reason = "   " }, base},
		{"lower-case action, tier and reason", func(r *ingest.ElectionRow) {
			r.Action, r.CoverageTier, r.Reason = "enroll", "family", "new_hire"
		}, with(func(e *Election) { e.CoverageTier, e.Reason = "FAMILY", "NEW_HIRE" })},
		{"mixed-case padded values", func(r *ingest.ElectionRow) {
			r.RecordID, r.EmployerID, r.EmployeeID, r.PlanCode = " EL-1 ", " ACME", "E100 ", "\tFSA2026"
			r.Action, r.CoverageTier, r.Reason = " Change ", " Individual ", " Life_Event "
		}, with(func(e *Election) { e.Action, e.Reason = "CHANGE", "LIFE_EVENT" })},
		{"amount with separator and dollar sign", func(r *ingest.ElectionRow) { r.AnnualAmount = "$2,600.5" },
			with(func(e *Election) { e.AnnualCents = 260050 })},
		{"amount without decimals", func(r *ingest.ElectionRow) { r.AnnualAmount = "850" },
			with(func(e *Election) { e.AnnualCents = 85000 })},
		{"amount that floats get wrong", func(r *ingest.ElectionRow) { r.AnnualAmount = "0.29" },
			with(func(e *Election) { e.AnnualCents = 29 })},
		{"zero amount", func(r *ingest.ElectionRow) { r.AnnualAmount = "0" },
			with(func(e *Election) { e.AnnualCents = 0 })},
		{"us dates converted to iso", func(r *ingest.ElectionRow) {
			r.EffectiveDate, r.EndDate = "01/01/2026", "12/31/2026"
		}, with(func(e *Election) { e.EndDate = "2026-12-31" })},
		{"short us date converted to iso", func(r *ingest.ElectionRow) { r.EffectiveDate = "3/7/2026" },
			with(func(e *Election) { e.EffectiveDate = "2026-03-07" })},
		{"end date equal to effective date", func(r *ingest.ElectionRow) { r.EndDate = "2026-01-01" },
			with(func(e *Election) { e.EndDate = "2026-01-01" })},
		{"unenroll needs only end_date", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "FSA2026",
				Action: "unenroll", EndDate: "6/30/2026"}
		}, Election{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "FSA2026", Action: "UNENROLL",
			EndDate: "2026-06-30", Reason: "OPEN_ENROLLMENT"}},
		{"unenroll with effective date before end", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "FSA2026",
				Action: "UNENROLL", EffectiveDate: "2026-01-01", EndDate: "2026-06-30", Reason: "LIFE_EVENT"}
		}, Election{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "FSA2026", Action: "UNENROLL",
			EffectiveDate: "2026-01-01", EndDate: "2026-06-30", Reason: "LIFE_EVENT"}},
		{"transfer keeps tier empty", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{RecordID: "T-1", EmployerID: "ACME", EmployeeID: "E100", PlanCode: "HSA2026",
				Action: "Transfer", EffectiveDate: "07/01/2026", TransferEmployerID: " GLOBEX ",
				TransferEmployeeID: " G-7 ", TransferPlanCode: " HSA-G "}
		}, Election{RecordID: "T-1", EmployerID: "ACME", EmployeeID: "E100", PlanCode: "HSA2026",
			Action: "TRANSFER", EffectiveDate: "2026-07-01", Reason: "OPEN_ENROLLMENT",
			TransferEmployerID: "GLOBEX", TransferEmployeeID: "G-7", TransferPlanCode: "HSA-G"}},
		{"transfer with tier and amount", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "HSA2026",
				Action: "TRANSFER", CoverageTier: "family", AnnualAmount: "3,000", EffectiveDate: "2026-07-01",
				TransferEmployerID: "GLOBEX", TransferPlanCode: "HSA-G", Reason: "new_hire"}
		}, Election{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "HSA2026", Action: "TRANSFER",
			CoverageTier: "FAMILY", AnnualCents: 300000, HasAmount: true, EffectiveDate: "2026-07-01",
			Reason: "NEW_HIRE", TransferEmployerID: "GLOBEX", TransferPlanCode: "HSA-G"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := enrollRow()
			tt.modify(&row)
			got, errs := ElectionRow(row, layout)
			if len(errs) != 0 {
				t.Fatalf("got errors %s, want none", fieldsOf(errs))
			}
			if got != tt.want {
				t.Errorf("got %+v,\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestElectionRowErrors(t *testing.T) {
	layout := loadLayout(t, "elections.v1")
	type fe struct {
		code  enrollsftp.Code
		field string
	}
	req := enrollsftp.RequiredFieldMissing
	tests := []struct {
		name   string
		modify func(r *ingest.ElectionRow)
		want   []fe
	}{
		// Always required.
		{"employer_id missing", func(r *ingest.ElectionRow) { r.EmployerID = "" }, []fe{{req, "employer_id"}}},
		{"employee_id blank", func(r *ingest.ElectionRow) { r.EmployeeID = "  " }, []fe{{req, "employee_id"}}},
		{"plan_code missing", func(r *ingest.ElectionRow) { r.PlanCode = "" }, []fe{{req, "plan_code"}}},
		{"action missing", func(r *ingest.ElectionRow) { r.Action = " " }, []fe{{req, "action"}}},
		// ENROLL and CHANGE.
		{"enroll without coverage_tier", func(r *ingest.ElectionRow) { r.CoverageTier = "" },
			[]fe{{req, "coverage_tier"}}},
		{"enroll without annual_amount", func(r *ingest.ElectionRow) { r.AnnualAmount = " " },
			[]fe{{req, "annual_amount"}}},
		{"enroll without effective_date", func(r *ingest.ElectionRow) { r.EffectiveDate = "" },
			[]fe{{req, "effective_date"}}},
		{"enroll with nothing but ids", func(r *ingest.ElectionRow) {
			r.CoverageTier, r.AnnualAmount, r.EffectiveDate = "", "", ""
		}, []fe{{req, "coverage_tier"}, {req, "annual_amount"}, {req, "effective_date"}}},
		{"change with nothing but ids", func(r *ingest.ElectionRow) {
			r.Action, r.CoverageTier, r.AnnualAmount, r.EffectiveDate = "change", "", "", ""
		}, []fe{{req, "coverage_tier"}, {req, "annual_amount"}, {req, "effective_date"}}},
		// UNENROLL.
		{"unenroll without end_date", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "FSA2026", Action: "UNENROLL"}
		}, []fe{{req, "end_date"}}},
		// TRANSFER.
		{"transfer with nothing but ids", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "HSA2026", Action: "TRANSFER",
				TransferEmployeeID: "G-7"}
		}, []fe{{req, "effective_date"}, {req, "transfer_employer_id"}, {req, "transfer_plan_code"}}},
		{"transfer without transfer_plan_code", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "HSA2026", Action: "TRANSFER",
				EffectiveDate: "2026-07-01", TransferEmployerID: "GLOBEX", TransferPlanCode: " "}
		}, []fe{{req, "transfer_plan_code"}}},
		// Codes.
		{"unknown action", func(r *ingest.ElectionRow) { r.Action = "CANCEL" },
			[]fe{{enrollsftp.InvalidAction, "action"}}},
		{"unknown action skips per-action checks", func(r *ingest.ElectionRow) {
			r.Action, r.CoverageTier, r.AnnualAmount, r.EffectiveDate = "WAIVE", "", "", ""
		}, []fe{{enrollsftp.InvalidAction, "action"}}},
		{"unknown coverage tier", func(r *ingest.ElectionRow) { r.CoverageTier = "EMPLOYEE+1" },
			[]fe{{enrollsftp.InvalidCoverageTier, "coverage_tier"}}},
		{"unknown coverage tier on unenroll", func(r *ingest.ElectionRow) {
			r.Action, r.CoverageTier, r.EndDate = "UNENROLL", "SINGLE", "2026-06-30"
		}, []fe{{enrollsftp.InvalidCoverageTier, "coverage_tier"}}},
		{"negative amount", func(r *ingest.ElectionRow) { r.AnnualAmount = "-1200.00" },
			[]fe{{enrollsftp.InvalidAmount, "annual_amount"}}},
		{"amount with three decimals", func(r *ingest.ElectionRow) { r.AnnualAmount = "1200.001" },
			[]fe{{enrollsftp.InvalidAmount, "annual_amount"}}},
		{"amount in words", func(r *ingest.ElectionRow) { r.AnnualAmount = "twelve hundred" },
			[]fe{{enrollsftp.InvalidAmount, "annual_amount"}}},
		{"amount badly grouped", func(r *ingest.ElectionRow) { r.AnnualAmount = "1,20" },
			[]fe{{enrollsftp.InvalidAmount, "annual_amount"}}},
		{"amount enormous", func(r *ingest.ElectionRow) { r.AnnualAmount = "1000000000000000000000" },
			[]fe{{enrollsftp.InvalidAmount, "annual_amount"}}},
		{"effective_date not a date", func(r *ingest.ElectionRow) { r.EffectiveDate = "2026-02-30" },
			[]fe{{enrollsftp.InvalidDate, "effective_date"}}},
		{"effective_date day first", func(r *ingest.ElectionRow) { r.EffectiveDate = "31/01/2026" },
			[]fe{{enrollsftp.InvalidDate, "effective_date"}}},
		{"end_date not a date", func(r *ingest.ElectionRow) { r.EndDate = "2026-12-32" },
			[]fe{{enrollsftp.InvalidDate, "end_date"}}},
		{"end before effective", func(r *ingest.ElectionRow) { r.EndDate = "12/31/2025" },
			[]fe{{enrollsftp.DateRangeInvalid, "end_date"}}},
		{"unenroll end before effective", func(r *ingest.ElectionRow) {
			*r = ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E100", PlanCode: "FSA2026", Action: "UNENROLL",
				EffectiveDate: "2026-07-01", EndDate: "2026-06-30"}
		}, []fe{{enrollsftp.DateRangeInvalid, "end_date"}}},
		{"bad effective_date hides the range check", func(r *ingest.ElectionRow) {
			r.EffectiveDate, r.EndDate = "later", "2020-01-01"
		}, []fe{{enrollsftp.InvalidDate, "effective_date"}}},
		{"unknown reason", func(r *ingest.ElectionRow) { r.Reason = "MARRIAGE" },
			[]fe{{enrollsftp.InvalidReason, "reason"}}},
		{"reason with spaces", func(r *ingest.ElectionRow) { r.Reason = "open enrollment" },
			[]fe{{enrollsftp.InvalidReason, "reason"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := enrollRow()
			tt.modify(&row)
			_, errs := ElectionRow(row, layout)
			var want []string
			for _, w := range tt.want {
				want = append(want, string(w.code)+" "+w.field)
			}
			if got, want := fieldsOf(errs), strings.Join(want, ", "); got != want {
				t.Errorf("got errors %q, want %q", got, want)
			}
			for _, e := range errs {
				if e.Message == "" {
					t.Errorf("%s %s: got empty message, want one", e.Code, e.Field)
				}
			}
		})
	}
}

// TestElectionRowAllErrorsAtOnce: a row with many problems reports every one.
func TestElectionRowAllErrorsAtOnce(t *testing.T) {
	layout := loadLayout(t, "elections.v1")
	tests := []struct {
		name      string
		row       ingest.ElectionRow
		wantCodes string
		wantLen   int
	}{
		{
			name: "enroll with every kind of problem",
			row: ingest.ElectionRow{EmployerID: "", EmployeeID: "E1", PlanCode: "", Action: "ENROLL",
				CoverageTier: "COUPLE", AnnualAmount: "12.345", EffectiveDate: "2026-06-01", EndDate: "2026-05-31",
				Reason: "PROMOTION"},
			wantCodes: "REQUIRED_FIELD_MISSING;INVALID_COVERAGE_TIER;INVALID_AMOUNT;DATE_RANGE_INVALID;INVALID_REASON",
			wantLen:   6,
		},
		{
			name: "change missing what it needs, bad dates",
			row: ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E1", PlanCode: "FSA", Action: "change",
				EffectiveDate: "tomorrow", EndDate: "2026-13-13", Reason: "x"},
			wantCodes: "REQUIRED_FIELD_MISSING;INVALID_DATE;INVALID_REASON",
			wantLen:   5, // coverage_tier, annual_amount, effective_date, end_date, reason
		},
		{
			name: "invalid action with other field problems",
			row: ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "", PlanCode: "FSA", Action: "ENROL",
				CoverageTier: "FAMILY", AnnualAmount: "abc", EffectiveDate: "02/30/2026"},
			wantCodes: "REQUIRED_FIELD_MISSING;INVALID_ACTION;INVALID_AMOUNT;INVALID_DATE",
			wantLen:   4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ElectionRow(tt.row, layout)
			if got := errs.Codes(); got != tt.wantCodes {
				t.Errorf("got codes %q, want %q", got, tt.wantCodes)
			}
			if len(errs) != tt.wantLen {
				t.Errorf("got %d errors (%s), want %d", len(errs), fieldsOf(errs), tt.wantLen)
			}
		})
	}
}
