package validate

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"enrollsftp/ingest"
)

// CensusFingerprint hashes a census row's content, record_id excluded, after
// trimming and upper-casing: the same record sent again hashes the same even
// if a vendor's export changed case or padding.
func CensusFingerprint(r ingest.CensusRow) string {
	return fingerprint(r.EmployerID, r.EmployeeID, r.FirstName, r.MiddleName, r.LastName, r.SSN, r.DOB,
		r.AddressLine1, r.AddressLine2, r.City, r.State, r.ZIP, r.Email, r.Phone, r.EmploymentStatus,
		r.HireDate, r.TerminationDate)
}

// ElectionFingerprint hashes an election row's content, record_id excluded.
func ElectionFingerprint(r ingest.ElectionRow) string {
	return fingerprint(r.EmployerID, r.EmployeeID, r.PlanCode, r.Action, r.CoverageTier, r.AnnualAmount,
		r.EffectiveDate, r.EndDate, r.Reason, r.TransferEmployerID, r.TransferEmployeeID, r.TransferPlanCode)
}

// cellEscape keeps a cell's own 0x1f (or 0x1b) bytes from passing for a cell
// boundary; cells without them hash exactly as before.
var cellEscape = strings.NewReplacer("\x1b", "\x1b\x1b", "\x1f", "\x1b\x1f")

func fingerprint(cells ...string) string {
	return hashCells(true, cells)
}

// hashCells hashes cells, trimmed and, when upper is set, upper-cased.
func hashCells(upper bool, cells []string) string {
	h := sha256.New()
	for _, c := range cells {
		c = strings.TrimSpace(c)
		if upper {
			c = strings.ToUpper(c)
		}
		h.Write([]byte(cellEscape.Replace(c)))
		h.Write([]byte{0x1f}) // unit separator: "ab","c" never hashes as "a","bc"
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Fingerprint hashes a valid census row's normalized values, record_id
// excluded: "123456789" and "123-45-6789", "07/04/1980" and "1980-07-04"
// are the same content, so a resend that only reformats is a DUPLICATE.
// Case is kept: codes are already upper-cased by validation, and a name
// corrected from MCDONALD to McDonald is a change to apply.
func (c Census) Fingerprint() string {
	return hashCells(false, []string{c.EmployerID, c.EmployeeID, c.FirstName, c.MiddleName, c.LastName, c.SSN, c.DOB,
		c.AddressLine1, c.AddressLine2, c.City, c.State, c.ZIP, c.Email, c.Phone, c.EmploymentStatus,
		c.HireDate, c.TerminationDate})
}

// Fingerprint hashes a valid election row's normalized values, record_id
// excluded: amounts as cents, dates ISO, the default reason filled in.
func (e Election) Fingerprint() string {
	amount := ""
	if e.HasAmount {
		amount = strconv.FormatInt(e.AnnualCents, 10)
	}
	return hashCells(false, []string{e.EmployerID, e.EmployeeID, e.PlanCode, e.Action, e.CoverageTier, amount,
		e.EffectiveDate, e.EndDate, e.Reason, e.TransferEmployerID, e.TransferEmployeeID, e.TransferPlanCode})
}
