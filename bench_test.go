package enrollsftp

import "testing"

// scrubCells are the cells of typical ack lines, the text ScrubSSN sees
// for every row: most cannot hold an SSN and take the fast path.
var scrubCells = []string{
	"R000123", "ACME", "E12345", "ENROLL", "", "INVALID_AMOUNT",
	`annual_amount "oops" is not a number`,
	"already applied by batch 0196f3c2-7d1e-7c41-9a8e-2b3c4d5e6f70 line 42",
	"2026-01-01", "1300.00",
}

// BenchmarkScrubSSN: a typical ack line's cells (the fast path).
func BenchmarkScrubSSN(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for _, c := range scrubCells {
			ScrubSSN(c)
		}
	}
}

// BenchmarkScrubSSNMatch: a message that holds an SSN (the regexp path).
func BenchmarkScrubSSNMatch(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ScrubSSN(`ssn "123-45-6789" is not valid for employee E1`)
	}
}

// BenchmarkNeutralizeCell: the same cells through the formula guard.
func BenchmarkNeutralizeCell(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for _, c := range scrubCells {
			NeutralizeCell(c)
		}
	}
}

// BenchmarkScrubSSNLongID: a numeric record_id of ten digits passes the
// fast path's test and takes the regexp, though it holds no SSN.
func BenchmarkScrubSSNLongID(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ScrubSSN("1000000001")
	}
}
