package validate

import (
	"testing"
	"time"

	"enrollsftp/ingest"
	"enrollsftp/schemas"
)

func BenchmarkCensusRow(b *testing.B) {
	layout, _ := schemas.Load("census.v1", "")
	now := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	row := ingest.CensusRow{RecordID: "C1", EmployerID: "ACME", EmployeeID: "E1", FirstName: "Ada", LastName: "Lovelace",
		SSN: "123-45-6780", DOB: "1980-04-12", AddressLine1: "12 Main St", City: "Boston", State: "MA", ZIP: "02134",
		Email: "ada@example.com", Phone: "617-555-0101", EmploymentStatus: "ACTIVE", HireDate: "2020-01-06"}
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := CensusRow(row, layout, now); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkElectionRow(b *testing.B) {
	layout, _ := schemas.Load("elections.v1", "")
	row := ingest.ElectionRow{RecordID: "L1", EmployerID: "ACME", EmployeeID: "E1", PlanCode: "FSA1", Action: "ENROLL",
		CoverageTier: "INDIVIDUAL", AnnualAmount: "1200.00", EffectiveDate: "2026-01-01", Reason: "NEW_HIRE"}
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := ElectionRow(row, layout); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
