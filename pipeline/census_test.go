package pipeline

import (
	"testing"

	"enrollsftp"
)

func TestCensusMatchesPersonBySSNAcrossEmployers(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	a, g := e.lookup("ACME", "E1"), e.lookup("GLOBEX", "G1")
	if a.PersonID != g.PersonID {
		t.Fatalf("same SSN at two employers: got persons %s and %s, want one", a.PersonID, g.PersonID)
	}
	if len(a.Employments) != 2 {
		t.Errorf("got %d employments, want 2", len(a.Employments))
	}
	if a.SSN != "***-**-6780" {
		t.Errorf("lookup shows ssn %q, want it masked", a.SSN)
	}
}

func TestCensusWithoutSSNMatchesByEmployeeNumber(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	first := e.lookup("ACME", "E4")
	_, ack := e.mustProcess(enrollsftp.Census, censusHeader+
		"X1,ACME,E4,Dee,Renamed,,,2 Pine Rd,Lowell,MA,01852,,ACTIVE,2022-02-01,\n"+
		"X2,GLOBEX,G4,Dee,Nossn,,,1 Pine Rd,Lowell,MA,01852,,ACTIVE,2022-02-01,\n")
	want(t, ack, "2", "ACCEPTED", "")
	want(t, ack, "3", "ACCEPTED", "")
	if got := e.lookup("ACME", "E4"); got.PersonID != first.PersonID || got.LastName != "Renamed" {
		t.Errorf("E4 upsert: got person %s %s, want %s updated", got.PersonID, got.LastName, first.PersonID)
	}
	if got := e.lookup("GLOBEX", "G4"); got.PersonID == first.PersonID {
		t.Errorf("without an SSN, a same-named person at another employer must be a new person")
	}
}

func TestCensusRowRules(t *testing.T) {
	tests := []struct {
		name, row, status, codes string
	}{
		{"email of another person", "Z1,ACME,E9,Zed,Zee,,,1 A St,Boston,MA,02134,ADA@example.com,ACTIVE,,", "REJECTED", "EMAIL_IN_USE"},
		{"employee on file with another SSN", "Z2,ACME,E1,Ada,Lovelace,456-78-9123,1980-04-12,12 Main St,Boston,MA,02134,,ACTIVE,,", "REJECTED", "SSN_CONFLICT"},
		{"unknown employer", "Z3,NOPE,E1,Ada,Lovelace,,,12 Main St,Boston,MA,02134,,ACTIVE,,", "REJECTED", "EMPLOYER_NOT_FOUND"},
		{"field errors all at once", "Z4,ACME,E9,,Zee,000-12-3456,,1 A St,Boston,ZZ,123,bad,ACTIVE,,", "REJECTED",
			"REQUIRED_FIELD_MISSING;INVALID_STATE;INVALID_ZIP;INVALID_SSN;INVALID_EMAIL"},
		{"known-invalid SSN is accepted with a warning", "Z5,ACME,E9,Wool,Worth,219-09-9999,1970-01-01,1 A St,Boston,MA,02134,,ACTIVE,,", "ACCEPTED", "KYC_FAILED"},
		{"under 18 fails KYC", "Z6,ACME,E9,Kid,Young,456-78-9123,2012-01-01,1 A St,Boston,MA,02134,,ACTIVE,,", "ACCEPTED", "KYC_FAILED"},
		{"PO box fails KYC", "Z7,ACME,E9,Po,Box,456-78-9123,1970-01-01,PO Box 12,Boston,MA,02134,,ACTIVE,,", "ACCEPTED", "KYC_FAILED"},
		{"ZIP not in state fails KYC", "Z8,ACME,E9,Zip,Wrong,456-78-9123,1970-01-01,1 A St,Boston,CA,02134,,ACTIVE,,", "ACCEPTED", "KYC_FAILED"},
		{"terminated without date", "Z9,ACME,E9,Ter,Min,,,1 A St,Boston,MA,02134,,TERMINATED,,", "REJECTED", "REQUIRED_FIELD_MISSING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.withCensus()
			_, ack := e.mustProcess(enrollsftp.Census, censusHeader+tt.row+"\n")
			want(t, ack, "2", tt.status, tt.codes)
		})
	}
}

func TestTerminationEndsCoverageButNotHSA(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n")
	want(t, ack, "2", "ACCEPTED", "", "50.00")
	want(t, ack, "3", "ACCEPTED", "", "50.00")
	_, ack = e.mustProcess(enrollsftp.Census, censusHeader+
		"T1,ACME,E2,Bob,Builder,234-56-7891,1975-09-30,44 Oak Ave,Springfield,MA,01103,bob@example.com,TERMINATED,2019-03-01,2026-08-31\n")
	if got := ack["2"]; got.action != "TERMINATE" || got.status != "ACCEPTED" {
		t.Fatalf("termination row: got %+v", got)
	}
	p := e.lookup("ACME", "E2")
	for _, en := range p.Enrollments {
		switch en.PlanType {
		case "HSA":
			if en.Status != "ACTIVE" || !en.Detached || en.EndDate != "" {
				t.Errorf("HSA after termination: got %s detached=%v end=%q, want ACTIVE, detached, open", en.Status, en.Detached, en.EndDate)
			}
		case "FSA":
			if en.Status != "TERMINATED" || en.EndDate != "2026-08-31" {
				t.Errorf("FSA after termination: got %s end=%q, want TERMINATED on 2026-08-31", en.Status, en.EndDate)
			}
			if st := en.Elections[0].Status; st != "HISTORICAL" {
				t.Errorf("FSA election after termination: got %s, want HISTORICAL", st)
			}
		}
	}
	if p.Employments[0].Status != "TERMINATED" {
		t.Errorf("employment status: got %s", p.Employments[0].Status)
	}
}
