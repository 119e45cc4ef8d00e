package pipeline

import (
	"context"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/enroll"
)

func TestElectionRules(t *testing.T) {
	tests := []struct {
		name                string
		now                 time.Time // zero: testNow (2026-11-15, inside the 2027 window)
		rows                string
		line, status, codes string
		perPeriod           string
	}{
		{name: "biweekly enroll from the plan year start", rows: "L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,2600.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "ACCEPTED", perPeriod: "100.00"},
		{name: "semimonthly enroll mid-year", rows: "L1,GLOBEX,G1,GFSA,ENROLL,INDIVIDUAL,1200.00,2026-07-01,,LIFE_EVENT,,,",
			line: "2", status: "ACCEPTED", perPeriod: "100.00"}, // 12 periods left: Jul 1 … Dec 16
		{name: "open enrollment inside the window", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,2600.00,2027-01-01,,,,,",
			line: "2", status: "ACCEPTED", perPeriod: "100.00"},
		{name: "open enrollment outside the window", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,2600.00,2026-01-01,,OPEN_ENROLLMENT,,,",
			line: "2", status: "REJECTED", codes: "OUTSIDE_ENROLLMENT_WINDOW"},
		{name: "effective date in no plan year", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,100.00,2030-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "PLAN_YEAR_CLOSED"},
		{name: "unknown plan", rows: "L1,ACME,E2,NOPE,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "PLAN_NOT_FOUND"},
		{name: "unknown employer", rows: "L1,NOPE,E2,FSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "EMPLOYER_NOT_FOUND"},
		{name: "unknown employee", rows: "L1,ACME,E99,FSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "INDIVIDUAL_NOT_FOUND"},
		{name: "FSA above the IRS limit", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,3400.01,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "AMOUNT_EXCEEDS_LIMIT"},
		{name: "FSA at the IRS limit", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,3400.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "ACCEPTED", perPeriod: "130.76"},
		{name: "plan limit lower than IRS", rows: "L1,GLOBEX,G1,GFSA,ENROLL,INDIVIDUAL,3000.01,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "AMOUNT_EXCEEDS_LIMIT"},
		{name: "HSA limit counts the employer contribution", rows: "L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,3900.01,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "AMOUNT_EXCEEDS_LIMIT"},
		{name: "HSA at limit minus employer contribution", rows: "L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,3900.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "ACCEPTED", perPeriod: "150.00"},
		{name: "HSA catch-up at 55", rows: "L1,ACME,E5,HSA1,ENROLL,INDIVIDUAL,4900.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "ACCEPTED", perPeriod: "188.46"},
		{name: "HRA without plan limits", rows: "L1,ACME,E2,HRA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "AMOUNT_EXCEEDS_LIMIT"},
		{name: "FSA needs a date of birth", rows: "L1,ACME,E4,FSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "REQUIRED_FIELD_MISSING"},
		{name: "DCFSA needs a date of birth", rows: "L1,ACME,E4,DC1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "REQUIRED_FIELD_MISSING"},
		{name: "commuter needs no date of birth", rows: "L1,ACME,E4,COM1,ENROLL,INDIVIDUAL,2600.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "ACCEPTED", perPeriod: "100.00"},
		{name: "HSA without SSN or DOB", rows: "L1,ACME,E4,HSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "REJECTED", codes: "KYC_REQUIRED"},
		{name: "HSA with failed KYC is pending", rows: "L1,ACME,E3,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,",
			line: "2", status: "PENDING_KYC", codes: "KYC_FAILED", perPeriod: "50.00"},
		{name: "already enrolled", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,\nL2,ACME,E2,FSA1,ENROLL,INDIVIDUAL,200.00,2026-02-01,,NEW_HIRE,,,",
			line: "3", status: "REJECTED", codes: "ALREADY_ENROLLED"},
		{name: "HSA is never unenrolled", rows: "L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,\nL2,ACME,E1,HSA1,UNENROLL,,,,2026-06-30,,,,",
			line: "3", status: "REJECTED", codes: "HSA_REQUIRES_TRANSFER"},
		{name: "unenroll without enrollment", rows: "L1,ACME,E2,FSA1,UNENROLL,,,,2026-06-30,,,,",
			line: "2", status: "REJECTED", codes: "ENROLLMENT_NOT_FOUND"},
		{name: "unenroll before the start", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,100.00,2026-03-01,,NEW_HIRE,,,\nL2,ACME,E2,FSA1,UNENROLL,,,,2026-02-01,,,,",
			line: "3", status: "REJECTED", codes: "DATE_RANGE_INVALID"},
		{name: "unenroll FSA", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,100.00,2026-03-01,,NEW_HIRE,,,\nL2,ACME,E2,FSA1,UNENROLL,,,,2026-06-30,,,,",
			line: "3", status: "ACCEPTED"},
		{name: "transfer of a non-HSA", rows: "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,\nL2,ACME,E2,FSA1,TRANSFER,,,2026-07-01,,,GLOBEX,,GFSA",
			line: "3", status: "REJECTED", codes: "TRANSFER_NOT_SUPPORTED"},
		{name: "transfer to a non-HSA plan", rows: "L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,\nL2,ACME,E1,HSA1,TRANSFER,,,2026-07-01,,,GLOBEX,G1,GFSA",
			line: "3", status: "REJECTED", codes: "TRANSFER_NOT_SUPPORTED"},
		{name: "transfer without an enrollment", rows: "L2,ACME,E1,HSA1,TRANSFER,,,2026-07-01,,,GLOBEX,G1,GHSA",
			line: "2", status: "REJECTED", codes: "ENROLLMENT_NOT_FOUND"},
		{name: "transfer to someone else's employment", rows: "L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,\nL2,ACME,E1,HSA1,TRANSFER,,,2026-07-01,,,GLOBEX,G77,GHSA",
			line: "3", status: "REJECTED", codes: "INDIVIDUAL_NOT_FOUND"},
		{name: "a second open HSA at another employer", rows: "L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,3000.00,2026-01-01,,NEW_HIRE,,,\nL2,GLOBEX,G1,GHSA,ENROLL,INDIVIDUAL,3000.00,2026-06-01,,NEW_HIRE,,,",
			line: "3", status: "REJECTED", codes: "ALREADY_ENROLLED"},
		{name: "change without enrollment", rows: "L1,ACME,E2,FSA1,CHANGE,INDIVIDUAL,100.00,2026-03-01,,LIFE_EVENT,,,",
			line: "2", status: "REJECTED", codes: "ENROLLMENT_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.withCensus()
			if !tt.now.IsZero() {
				e.now = tt.now
			}
			_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+tt.rows+"\n")
			if tt.perPeriod != "" {
				want(t, ack, tt.line, tt.status, tt.codes, tt.perPeriod)
			} else {
				want(t, ack, tt.line, tt.status, tt.codes)
			}
		})
	}
}

// A CHANGE spreads the new annual amount, less what the old election
// already deducted, over the periods left.
func TestChangeAccountsForWhatWasDeducted(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	// Biweekly from 2026-01-01: period 14 starts 2026-07-02. 13 periods of
	// 100.00 were deducted; 3900 - 1300 = 2600 over 13 periods = 200.00.
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,2600.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E2,FSA1,CHANGE,INDIVIDUAL,3400.00,2026-07-02,,LIFE_EVENT,,,\n")
	want(t, ack, "2", "ACCEPTED", "", "100.00")
	want(t, ack, "3", "ACCEPTED", "", "161.53") // (3400-1300)/13 = 161.538…
	p := e.lookup("ACME", "E2")
	els := p.Enrollments[0].Elections
	if len(els) != 2 || els[0].Status != "HISTORICAL" || els[1].Status != "ACTIVE" || els[1].AnnualAmount != "3400.00" {
		t.Fatalf("elections after CHANGE: got %+v", els)
	}
}

func TestHSATransferKeepsTheAccount(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E1,HSA1,ENROLL,INDIVIDUAL,2600.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E1,HSA1,TRANSFER,,,2026-07-02,,,GLOBEX,G1,GHSA\n")
	want(t, ack, "2", "ACCEPTED", "", "100.00")
	// The election carries over: 1300 deducted at ACME, 1300 left over the
	// 11 GLOBEX semimonthly periods from Jul 16 to Dec 16 = 118.18.
	want(t, ack, "3", "ACCEPTED", "", "118.18")
	p := e.lookup("ACME", "E1")
	if len(p.Enrollments) != 2 {
		t.Fatalf("got %d enrollments, want 2", len(p.Enrollments))
	}
	from, to := p.Enrollments[0], p.Enrollments[1]
	if from.Status != "TRANSFERRED" || from.EmployerID != "ACME" {
		t.Errorf("old enrollment: got %s at %s, want TRANSFERRED at ACME", from.Status, from.EmployerID)
	}
	if to.Status != "ACTIVE" || to.EmployerID != "GLOBEX" || to.PlanCode != "GHSA" {
		t.Errorf("new enrollment: got %s at %s/%s, want ACTIVE at GLOBEX/GHSA", to.Status, to.EmployerID, to.PlanCode)
	}
	if from.AccountID != to.AccountID {
		t.Errorf("transfer changed the account: %s → %s", from.AccountID, to.AccountID)
	}
}

func TestPendingKYCAppliesOnApproval(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+"L1,ACME,E3,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n")
	want(t, ack, "2", "PENDING_KYC", "KYC_FAILED")
	p := e.lookup("ACME", "E3")
	if p.KYC.Status != "FAILED" || len(p.KYC.Codes) != 1 || p.KYC.Codes[0] != "SSN_KNOWN_INVALID" {
		t.Fatalf("kyc: got %+v", p.KYC)
	}
	if p.Enrollments[0].Status != "PENDING_KYC" || p.Enrollments[0].Elections[0].Status != "PENDING" {
		t.Fatalf("before approval: got %+v", p.Enrollments[0])
	}
	n, err := e.l.ApproveKYC(context.Background(), p.PersonID, enroll.Actor{Name: "ops", Reason: "documents checked"})
	if err != nil || n != 1 {
		t.Fatalf("approve: got %d, %v; want 1 enrollment released", n, err)
	}
	p = e.lookup("ACME", "E3")
	if p.KYC.Status != "APPROVED" || p.Enrollments[0].Status != "ACTIVE" || p.Enrollments[0].Elections[0].Status != "ACTIVE" {
		t.Errorf("after approval: got kyc %s, enrollment %+v", p.KYC.Status, p.Enrollments[0])
	}
	if a := p.KYC.Approvals; len(a) != 1 || a[0].ApprovedBy != "ops" || a[0].Reason != "documents checked" {
		t.Errorf("after approval: approvals %+v, want one by ops for documents checked", a)
	}
	// A later census with the same data keeps the approval.
	_, ack = e.mustProcess(enrollsftp.Census, censusHeader+
		"C3b,ACME,E3,Cy,Young,078-05-1120,1990-02-02,9 Elm St,Worcester,MA,01608,,ACTIVE,2021-07-01,\n")
	want(t, ack, "2", "ACCEPTED", "")
	if p = e.lookup("ACME", "E3"); p.KYC.Status != "APPROVED" {
		t.Errorf("approval lost after an unchanged census row: %s", p.KYC.Status)
	}
}

// UNENROLL ends the enrollment of the plan year holding the end date, not
// the newest one.
func TestUnenrollPicksThePlanYearOfTheEndDate(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2027-01-01,,OPEN_ENROLLMENT,,,\n"+
		"L3,ACME,E2,FSA1,UNENROLL,,,,2026-12-15,,,,\n")
	want(t, ack, "3", "ACCEPTED", "")
	want(t, ack, "4", "ACCEPTED", "")
	for _, en := range e.lookup("ACME", "E2").Enrollments {
		wantStatus := map[string]string{"2026-01-01": "TERMINATED", "2027-01-01": "ACTIVE"}[en.EffectiveDate]
		if en.Status != wantStatus {
			t.Errorf("enrollment from %s: got %s, want %s", en.EffectiveDate, en.Status, wantStatus)
		}
	}
}

// A correction that only changes letter case is a change, not a replay.
func TestCaseCorrectionIsAChange(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	_, ack := e.mustProcess(enrollsftp.Census, censusHeader+
		"C1,ACME,E1,ADA,LOVELACE,123-45-6780,1980-04-12,12 Main St,Boston,MA,02134,ada@example.com,ACTIVE,2020-01-06,\n"+
		",ACME,E2,BOB,BUILDER,234-56-7891,1975-09-30,44 Oak Ave,Springfield,MA,01103,bob@example.com,ACTIVE,2019-03-01,\n")
	want(t, ack, "2", "REJECTED", "RECORD_ID_REUSED")
	want(t, ack, "3", "ACCEPTED", "")
	if p := e.lookup("ACME", "E2"); p.LastName != "BUILDER" {
		t.Errorf("the case correction was not applied: %q", p.LastName)
	}
}
