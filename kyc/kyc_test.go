package kyc

import (
	"reflect"
	"testing"
	"time"
)

// testNow is the "today" of the verifier tests.
var testNow = time.Date(2026, time.March, 15, 10, 30, 0, 0, time.UTC)

// cleanIdentity is an adult with a valid SSN and a street address in MA.
func cleanIdentity() Identity {
	return Identity{
		FirstName:    "Ada",
		LastName:     "Lovelace",
		AddressLine1: "12 Beacon St",
		AddressLine2: "Apt 4",
		City:         "Boston",
		State:        "MA",
		ZIP:          "02108",
		DOB:          "1980-06-01",
		SSN:          "401223344",
	}
}

func TestVerifyRules(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Identity)
		now    time.Time // zero: testNow
		status string
		codes  []string
	}{
		{name: "clean identity passes", mod: func(*Identity) {}, status: Passed, codes: []string{}},
		{name: "clean identity with dashed SSN passes", mod: func(id *Identity) { id.SSN = "401-22-3344" }, status: Passed, codes: []string{}},
		{name: "ZIP+4 in state passes", mod: func(id *Identity) { id.ZIP = "02108-1234" }, status: Passed, codes: []string{}},
		{name: "lower-case state passes", mod: func(id *Identity) { id.State = "ma" }, status: Passed, codes: []string{}},
		{name: "no line 2 passes", mod: func(id *Identity) { id.AddressLine2 = "" }, status: Passed, codes: []string{}},

		// Publicly known invalid numbers.
		{name: "Woolworth SSN", mod: func(id *Identity) { id.SSN = "078051120" }, status: Failed, codes: []string{SSNKnownInvalid}},
		{name: "Woolworth SSN dashed", mod: func(id *Identity) { id.SSN = "078-05-1120" }, status: Failed, codes: []string{SSNKnownInvalid}},
		{name: "SSA pamphlet SSN", mod: func(id *Identity) { id.SSN = "219099999" }, status: Failed, codes: []string{SSNKnownInvalid}},
		{name: "SSA pamphlet SSN dashed", mod: func(id *Identity) { id.SSN = "219-09-9999" }, status: Failed, codes: []string{SSNKnownInvalid}},

		// Structurally never issued.
		{name: "area 000", mod: func(id *Identity) { id.SSN = "000123456" }, status: Failed, codes: []string{SSNNotIssued}},
		{name: "area 666", mod: func(id *Identity) { id.SSN = "666-12-3456" }, status: Failed, codes: []string{SSNNotIssued}},
		{name: "area 9xx", mod: func(id *Identity) { id.SSN = "912-34-5678" }, status: Failed, codes: []string{SSNNotIssued}},
		{name: "group 00", mod: func(id *Identity) { id.SSN = "123-00-4567" }, status: Failed, codes: []string{SSNNotIssued}},
		{name: "serial 0000", mod: func(id *Identity) { id.SSN = "123-45-0000" }, status: Failed, codes: []string{SSNNotIssued}},
		{name: "not nine digits", mod: func(id *Identity) { id.SSN = "12345" }, status: Failed, codes: []string{SSNNotIssued}},

		// Age on now: the 18th birthday is the boundary.
		{name: "turns 18 today passes", mod: func(id *Identity) { id.DOB = "2008-03-15" }, status: Passed, codes: []string{}},
		{name: "turned 18 yesterday passes", mod: func(id *Identity) { id.DOB = "2008-03-14" }, status: Passed, codes: []string{}},
		{name: "turns 18 tomorrow fails", mod: func(id *Identity) { id.DOB = "2008-03-16" }, status: Failed, codes: []string{AgeUnder18}},
		{name: "child fails", mod: func(id *Identity) { id.DOB = "2015-01-01" }, status: Failed, codes: []string{AgeUnder18}},
		{name: "born in the future fails", mod: func(id *Identity) { id.DOB = "2027-01-01" }, status: Failed, codes: []string{AgeUnder18}},
		{name: "turns 18 at midnight UTC", mod: func(id *Identity) { id.DOB = "2008-03-15" },
			now: time.Date(2026, time.March, 15, 0, 0, 0, 0, time.UTC), status: Passed, codes: []string{}},
		{name: "turns 18 today, now east of UTC", mod: func(id *Identity) { id.DOB = "2008-03-15" },
			now: time.Date(2026, time.March, 15, 8, 0, 0, 0, time.FixedZone("JST", 9*3600)), status: Passed, codes: []string{}},
		{name: "turns 18 tomorrow, now west of UTC", mod: func(id *Identity) { id.DOB = "2008-03-16" },
			now: time.Date(2026, time.March, 15, 22, 0, 0, 0, time.FixedZone("EST", -5*3600)), status: Failed, codes: []string{AgeUnder18}},

		// PO boxes as physical address.
		{name: "PO Box in line 1", mod: func(id *Identity) { id.AddressLine1 = "PO Box 12" }, status: Failed, codes: []string{POBoxAddress}},
		{name: "P.O. Box in line 1", mod: func(id *Identity) { id.AddressLine1 = "P.O. Box 5" }, status: Failed, codes: []string{POBoxAddress}},
		{name: "post office box in line 1", mod: func(id *Identity) { id.AddressLine1 = "post office box 9" }, status: Failed, codes: []string{POBoxAddress}},
		{name: "PO Box in line 2", mod: func(id *Identity) { id.AddressLine2 = "PO Box 12" }, status: Failed, codes: []string{POBoxAddress}},
		{name: "P.O. Box in line 2", mod: func(id *Identity) { id.AddressLine2 = "P.O. Box 5" }, status: Failed, codes: []string{POBoxAddress}},
		{name: "post office box in line 2", mod: func(id *Identity) { id.AddressLine2 = "post office box 9" }, status: Failed, codes: []string{POBoxAddress}},
		{name: "Boxwood Rd is a street", mod: func(id *Identity) { id.AddressLine1 = "7 Boxwood Rd" }, status: Passed, codes: []string{}},
		{name: "Boxwood Rd in line 2 is a street", mod: func(id *Identity) { id.AddressLine2 = "Boxwood Rd" }, status: Passed, codes: []string{}},

		// ZIP not in the state.
		{name: "Beverly Hills ZIP in MA", mod: func(id *Identity) { id.ZIP = "90210" }, status: Failed, codes: []string{ZIPStateMismatch}},
		{name: "Boston ZIP in CA", mod: func(id *Identity) { id.State = "CA" }, status: Failed, codes: []string{ZIPStateMismatch}},
		{name: "unknown state", mod: func(id *Identity) { id.State = "XX" }, status: Failed, codes: []string{ZIPStateMismatch}},
		{name: "malformed ZIP", mod: func(id *Identity) { id.ZIP = "0210" }, status: Failed, codes: []string{ZIPStateMismatch}},

		// Several at once: every code, in the fixed order.
		{name: "all rules fail", mod: func(id *Identity) {
			id.SSN, id.DOB, id.AddressLine1, id.ZIP = "078-05-1120", "2010-01-01", "PO Box 1", "90210"
		}, status: Failed, codes: []string{SSNKnownInvalid, AgeUnder18, POBoxAddress, ZIPStateMismatch}},
		{name: "not issued, box and ZIP", mod: func(id *Identity) {
			id.SSN, id.AddressLine2, id.State = "666123456", "P.O. Box 5", "TX"
		}, status: Failed, codes: []string{SSNNotIssued, POBoxAddress, ZIPStateMismatch}},
		{name: "age and ZIP", mod: func(id *Identity) {
			id.DOB, id.ZIP = "2008-03-16", "90210"
		}, status: Failed, codes: []string{AgeUnder18, ZIPStateMismatch}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := cleanIdentity()
			tc.mod(&id)
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			got := Rules{}.Verify(id, now)
			if got.Status != tc.status {
				t.Errorf("Status = %q, want %q (codes %v)", got.Status, tc.status, got.Codes)
			}
			if got.Codes == nil {
				t.Fatalf("Codes is nil, want %v", tc.codes)
			}
			if !reflect.DeepEqual(got.Codes, tc.codes) {
				t.Errorf("Codes = %v, want %v", got.Codes, tc.codes)
			}
		})
	}
}

func TestVerifyInterface(t *testing.T) {
	var v Verifier = Rules{}
	got := v.Verify(cleanIdentity(), testNow)
	if got.Status != Passed || got.Codes == nil || len(got.Codes) != 0 {
		t.Fatalf("Verify(clean) = %+v, want PASSED with empty non-nil codes", got)
	}
}

func TestIdentityComplete(t *testing.T) {
	if !cleanIdentity().Complete() {
		t.Fatal("clean identity is not Complete")
	}
	noLine2 := cleanIdentity()
	noLine2.AddressLine2 = ""
	if !noLine2.Complete() {
		t.Error("identity without address line 2 is not Complete; line 2 is optional")
	}
	missing := []struct {
		field string
		clear func(*Identity)
	}{
		{"first name", func(id *Identity) { id.FirstName = "" }},
		{"last name", func(id *Identity) { id.LastName = "" }},
		{"address line 1", func(id *Identity) { id.AddressLine1 = "" }},
		{"city", func(id *Identity) { id.City = "" }},
		{"state", func(id *Identity) { id.State = "" }},
		{"ZIP", func(id *Identity) { id.ZIP = "" }},
		{"date of birth", func(id *Identity) { id.DOB = "" }},
		{"SSN", func(id *Identity) { id.SSN = "" }},
	}
	for _, m := range missing {
		t.Run(m.field, func(t *testing.T) {
			id := cleanIdentity()
			m.clear(&id)
			if id.Complete() {
				t.Errorf("Complete() = true with %s missing", m.field)
			}
		})
	}
	if (Identity{}).Complete() {
		t.Error("empty identity is Complete")
	}
}

func FuzzVerify(f *testing.F) {
	c := cleanIdentity()
	f.Add(c.FirstName, c.LastName, c.AddressLine1, c.AddressLine2, c.City, c.State, c.ZIP, c.DOB, c.SSN)
	f.Add("A", "B", "PO Box 12", "", "Beverly Hills", "MA", "90210", "2010-01-01", "078-05-1120")
	f.Add("", "", "P.O. Box 5", "post office box 9", "", "ca", "90210-1234", "2008-03-15", "219-09-9999")
	f.Add("x", "y", "1 Boxwood Rd", "pob 7", "z", "", "", "not-a-date", "666-00-0000")
	f.Add("\x00", "\xff", "P\u00d8 B\u00f8x", "\u212a", "\u0130", "\u0131", "0210\u0660", "2026-02-29", "12-345-6789")
	f.Fuzz(func(t *testing.T, first, last, line1, line2, city, state, zip, dob, ssn string) {
		id := Identity{FirstName: first, LastName: last, AddressLine1: line1, AddressLine2: line2,
			City: city, State: state, ZIP: zip, DOB: dob, SSN: ssn}
		r := Rules{}.Verify(id, testNow)
		switch r.Status {
		case Passed:
			if r.Codes == nil || len(r.Codes) != 0 {
				t.Fatalf("PASSED with codes %#v", r.Codes)
			}
		case Failed:
			if len(r.Codes) == 0 {
				t.Fatal("FAILED without codes")
			}
		default:
			t.Fatalf("Status = %q, want PASSED or FAILED", r.Status)
		}
		seen := map[string]bool{}
		for _, code := range r.Codes {
			if seen[code] {
				t.Fatalf("code %s reported twice: %v", code, r.Codes)
			}
			seen[code] = true
			switch code {
			case SSNNotIssued, SSNKnownInvalid, AgeUnder18, POBoxAddress, ZIPStateMismatch:
			default:
				t.Fatalf("unknown code %q", code)
			}
		}
		if seen[SSNNotIssued] && seen[SSNKnownInvalid] {
			t.Fatalf("both SSN codes reported: %v", r.Codes)
		}
	})
}
