package validate

import (
	"regexp"
	"testing"
	"time"

	"enrollsftp/ingest"
	"enrollsftp/schemas"
)

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestCensusFingerprint(t *testing.T) {
	base := validCensus()
	tests := []struct {
		name   string
		modify func(r *ingest.CensusRow)
		same   bool
	}{
		{"identical", func(r *ingest.CensusRow) {}, true},
		{"record_id differs", func(r *ingest.CensusRow) { r.RecordID = "R-999" }, true},
		{"record_id absent", func(r *ingest.CensusRow) { r.RecordID = "" }, true},
		{"case differs", func(r *ingest.CensusRow) {
			r.FirstName, r.LastName, r.City, r.State, r.Email = "JANE", "doe", "BOSTON", "ma", "JANE@EXAMPLE.COM"
		}, true},
		{"padding differs", func(r *ingest.CensusRow) {
			r.EmployerID, r.FirstName, r.SSN, r.ZIP, r.EmploymentStatus = " ACME ", "\tJane", "123-45-6789 ", " 02134", "ACTIVE\t"
		}, true},
		{"first name differs", func(r *ingest.CensusRow) { r.FirstName = "Janet" }, false},
		{"employee differs", func(r *ingest.CensusRow) { r.EmployeeID = "E101" }, false},
		{"ssn differs", func(r *ingest.CensusRow) { r.SSN = "123-45-6788" }, false},
		{"dob differs", func(r *ingest.CensusRow) { r.DOB = "1980-07-05" }, false},
		{"termination added", func(r *ingest.CensusRow) { r.TerminationDate = "2026-01-01" }, false},
		{"middle name emptied", func(r *ingest.CensusRow) { r.MiddleName = "" }, false},
		{"value moved to the next column", func(r *ingest.CensusRow) {
			r.AddressLine1, r.AddressLine2 = "", "1 Main St"
		}, false},
		{"cell boundary moved", func(r *ingest.CensusRow) {
			// "Jane","Q" → "Jan","eQ"
			r.FirstName, r.MiddleName = "Jan", "eQ"
		}, false},
	}
	want := CensusFingerprint(base)
	if !hexSHA256.MatchString(want) {
		t.Fatalf("got fingerprint %q, want 64 lower-case hex digits", want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := validCensus()
			tt.modify(&row)
			got := CensusFingerprint(row)
			if (got == want) != tt.same {
				t.Errorf("got same=%v (%s vs %s), want same=%v", got == want, got, want, tt.same)
			}
		})
	}
}

func TestElectionFingerprint(t *testing.T) {
	base := enrollRow()
	tests := []struct {
		name   string
		modify func(r *ingest.ElectionRow)
		same   bool
	}{
		{"identical", func(r *ingest.ElectionRow) {}, true},
		{"record_id differs", func(r *ingest.ElectionRow) { r.RecordID = "EL-2" }, true},
		{"record_id absent", func(r *ingest.ElectionRow) { r.RecordID = "" }, true},
		{"case differs", func(r *ingest.ElectionRow) {
			r.Action, r.CoverageTier, r.PlanCode = "enroll", "Individual", "fsa2026"
		}, true},
		{"padding differs", func(r *ingest.ElectionRow) {
			r.EmployerID, r.AnnualAmount, r.EffectiveDate = "  ACME", " 1200.00 ", "2026-01-01\t"
		}, true},
		{"amount differs", func(r *ingest.ElectionRow) { r.AnnualAmount = "1300.00" }, false},
		{"action differs", func(r *ingest.ElectionRow) { r.Action = "CHANGE" }, false},
		{"tier differs", func(r *ingest.ElectionRow) { r.CoverageTier = "FAMILY" }, false},
		{"reason added", func(r *ingest.ElectionRow) { r.Reason = "NEW_HIRE" }, false},
		{"end date added", func(r *ingest.ElectionRow) { r.EndDate = "2026-12-31" }, false},
		{"transfer employee added", func(r *ingest.ElectionRow) { r.TransferEmployeeID = "G-1" }, false},
		{"cell boundary moved", func(r *ingest.ElectionRow) {
			// "ACME","E100" → "ACMEE","100"
			r.EmployerID, r.EmployeeID = "ACMEE", "100"
		}, false},
	}
	want := ElectionFingerprint(base)
	if !hexSHA256.MatchString(want) {
		t.Fatalf("got fingerprint %q, want 64 lower-case hex digits", want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := enrollRow()
			tt.modify(&row)
			got := ElectionFingerprint(row)
			if (got == want) != tt.same {
				t.Errorf("got same=%v (%s vs %s), want same=%v", got == want, got, want, tt.same)
			}
		})
	}
}

func TestFingerprintCells(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"ab,c vs a,bc", []string{"ab", "c"}, []string{"a", "bc"}, false},
		{"abc, vs a,bc", []string{"abc", ""}, []string{"a", "bc"}, false},
		{",abc vs abc,", []string{"", "abc"}, []string{"abc", ""}, false},
		{"case and padding", []string{" ab ", "c"}, []string{"AB", " C"}, true},
		{"empty cells", []string{"", ""}, []string{"", ""}, true},
		// A cell holding the separator itself must not shift a boundary.
		{"separator inside a cell", []string{"a\x1fb", "c"}, []string{"a", "b\x1fc"}, false},
		{"separator at a cell's end", []string{"a\x1f", "b"}, []string{"a", "\x1fb"}, false},
		{"escape inside a cell", []string{"a\x1b", "\x1fb"}, []string{"a\x1b\x1f", "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := fingerprint(tt.a...), fingerprint(tt.b...)
			if (a == b) != tt.same {
				t.Errorf("got same=%v for %q and %q, want same=%v", a == b, tt.a, tt.b, tt.same)
			}
		})
	}
}

// TestFingerprintStable pins the hash of an ordinary row, so a change to
// the hashing (which would break replay detection against an existing
// ledger) does not go unnoticed.
func TestFingerprintStable(t *testing.T) {
	got := fingerprint("ACME", "e100", " fsa ")
	want := "fb21c49427f65d98c4909b306fbbfa28878ffefc78e0ebd0c83bcc09387f0c9e"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestNormalizedFingerprint(t *testing.T) {
	census, _ := schemas.Load("census.v1", "")
	elections, _ := schemas.Load("elections.v1", "")
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	a, errsA := CensusRow(ingest.CensusRow{EmployerID: "ACME", EmployeeID: "E1", FirstName: "Ada", LastName: "L",
		SSN: "123-45-6780", DOB: "04/12/1980", AddressLine1: "1 A St", City: "Boston", State: "ma", ZIP: "02134"}, census, now)
	b, errsB := CensusRow(ingest.CensusRow{EmployerID: "ACME", EmployeeID: "E1", FirstName: "Ada", LastName: "L",
		SSN: "123456780", DOB: "1980-04-12", AddressLine1: "1 A St", City: "Boston", State: "MA", ZIP: "02134", EmploymentStatus: "active"}, census, now)
	if len(errsA)+len(errsB) > 0 {
		t.Fatal(errsA, errsB)
	}
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("census rows differing only in format hash differently")
	}
	e1, _ := ElectionRow(ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E1", PlanCode: "FSA1", Action: "ENROLL",
		CoverageTier: "INDIVIDUAL", AnnualAmount: "1200", EffectiveDate: "2026-01-01"}, elections)
	e2, _ := ElectionRow(ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E1", PlanCode: "FSA1", Action: "enroll",
		CoverageTier: "individual", AnnualAmount: "$1,200.00", EffectiveDate: "1/1/2026", Reason: "OPEN_ENROLLMENT"}, elections)
	e3, _ := ElectionRow(ingest.ElectionRow{EmployerID: "ACME", EmployeeID: "E1", PlanCode: "FSA1", Action: "ENROLL",
		CoverageTier: "INDIVIDUAL", AnnualAmount: "1200.01", EffectiveDate: "2026-01-01"}, elections)
	if e1.Fingerprint() != e2.Fingerprint() {
		t.Error("election rows differing only in format hash differently")
	}
	if e1.Fingerprint() == e3.Fingerprint() {
		t.Error("different amounts hash the same")
	}
}
