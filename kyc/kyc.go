// Package kyc verifies an individual's identity (CIP) before an HSA may be
// opened. The Verifier is an interface so that a real vendor's API can take
// the place of the built-in rules.
package kyc

import (
	"regexp"
	"strings"
	"time"

	"enrollsftp/validate"
)

// Verification statuses.
const (
	Passed   = "PASSED"
	Failed   = "FAILED"
	Approved = "APPROVED" // manual approval by an operator
	None     = "NONE"
)

// Verification codes returned by the rules verifier.
const (
	SSNNotIssued     = "SSN_NOT_ISSUED"    // a number the SSA never issues
	SSNKnownInvalid  = "SSN_KNOWN_INVALID" // publicly known invalid, e.g. 078-05-1120
	AgeUnder18       = "AGE_UNDER_18"
	POBoxAddress     = "PO_BOX_ADDRESS"
	ZIPStateMismatch = "ZIP_STATE_MISMATCH"
)

// Identity is what CIP checks: name, physical address, date of birth, SSN.
type Identity struct {
	FirstName, LastName        string
	AddressLine1, AddressLine2 string
	City, State, ZIP           string
	DOB                        string // YYYY-MM-DD
	SSN                        string // nine digits
}

// Complete reports whether every field CIP needs is present.
func (id Identity) Complete() bool {
	return id.FirstName != "" && id.LastName != "" && id.AddressLine1 != "" && id.City != "" &&
		id.State != "" && id.ZIP != "" && id.DOB != "" && id.SSN != ""
}

// Result is a verifier's answer: a status and the codes that explain it.
type Result struct {
	Status string
	Codes  []string
}

// Verifier checks an identity as of now.
type Verifier interface {
	Verify(id Identity, now time.Time) Result
}

// Rules is the built-in deterministic verifier.
type Rules struct{}

var _ Verifier = Rules{}

// knownInvalid are SSNs published in advertising or by the SSA as never
// valid for a person.
var knownInvalid = map[string]bool{
	"078051120": true, // the Woolworth wallet card
	"219099999": true, // a 1940s SSA pamphlet
}

var poBox = regexp.MustCompile(`(?i)\b(p\.?\s*o\.?\s*box|post\s+office\s+box|pob\s+\d)`)

// Verify applies the rules in a fixed order and returns every failing one.
func (Rules) Verify(id Identity, now time.Time) Result {
	var codes []string
	if digits, err := validate.SSN(id.SSN); err != nil {
		codes = append(codes, SSNNotIssued)
	} else if knownInvalid[digits] { // normalised: 078-05-1120 and 078051120 alike
		codes = append(codes, SSNKnownInvalid)
	}
	// Age is judged on now's calendar date, whatever its time of day or zone.
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if dob, err := time.Parse(validate.ISODate, id.DOB); err == nil && dob.AddDate(18, 0, 0).After(today) {
		codes = append(codes, AgeUnder18)
	}
	if poBox.MatchString(id.AddressLine1) || poBox.MatchString(id.AddressLine2) {
		codes = append(codes, POBoxAddress)
	}
	if !validate.ZIPInState(strings.ToUpper(id.State), id.ZIP) {
		codes = append(codes, ZIPStateMismatch)
	}
	if len(codes) > 0 {
		return Result{Status: Failed, Codes: codes}
	}
	return Result{Status: Passed, Codes: []string{}}
}
