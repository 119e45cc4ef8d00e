package enroll

import (
	"fmt"
	"testing"
	"time"
)

// limitsCents returns a pointer to a plan limit in cents.
func limitsCents(c int64) *int64 { return &c }

// limitsYear is a calendar plan year.
func limitsYear(year int) *planYear {
	return &planYear{
		start: time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC),
		end:   time.Date(year, time.December, 31, 0, 0, 0, 0, time.UTC),
	}
}

func TestAnnualLimitIRSDefaults(t *testing.T) {
	tests := []struct {
		year     int
		typ      string
		ind, fam int64
		wantOK   bool
	}{
		{2026, "HSA", 440000, 875000, true},
		{2026, "FSA", 340000, 340000, true},
		{2026, "LPFSA", 340000, 340000, true},
		{2026, "DCFSA", 750000, 750000, true},
		{2026, "COMMUTER", 408000, 408000, true},
		{2025, "HSA", 430000, 855000, true},
		{2025, "FSA", 330000, 330000, true},
		{2025, "LPFSA", 330000, 330000, true},
		{2025, "DCFSA", 500000, 500000, true},
		{2025, "COMMUTER", 390000, 390000, true},
		{2024, "HSA", 415000, 830000, true},
		{2024, "FSA", 320000, 320000, true},
		{2024, "LPFSA", 320000, 320000, true},
		{2024, "DCFSA", 500000, 500000, true},
		{2024, "COMMUTER", 378000, 378000, true},
		{2031, "HSA", 0, 0, false},
		{2031, "FSA", 0, 0, false},
		{2023, "DCFSA", 0, 0, false},
		{2026, "HRA", 0, 0, false},
		{2026, "UNKNOWN", 0, 0, false},
	}
	for _, tc := range tests {
		for _, tier := range []string{"INDIVIDUAL", "FAMILY"} {
			t.Run(fmt.Sprintf("%d/%s/%s", tc.year, tc.typ, tier), func(t *testing.T) {
				want := tc.ind
				if tier == "FAMILY" {
					want = tc.fam
				}
				got, ok := annualLimit(&plan{typ: tc.typ}, limitsYear(tc.year), tier, "")
				if ok != tc.wantOK || got != want {
					t.Errorf("annualLimit = %d, %v; want %d, %v", got, ok, want, tc.wantOK)
				}
			})
		}
	}
}

func TestAnnualLimitPlanOwn(t *testing.T) {
	tests := []struct {
		name   string
		year   int
		p      plan
		tier   string
		want   int64
		wantOK bool
	}{
		{"lower individual limit wins", 2026, plan{typ: "FSA", limitIndividual: limitsCents(250000)}, "INDIVIDUAL", 250000, true},
		{"individual limit does not touch family", 2026, plan{typ: "HSA", limitIndividual: limitsCents(300000)}, "FAMILY", 875000, true},
		{"lower family limit wins", 2026, plan{typ: "HSA", limitFamily: limitsCents(700000)}, "FAMILY", 700000, true},
		{"family limit does not touch individual", 2026, plan{typ: "HSA", limitFamily: limitsCents(700000)}, "INDIVIDUAL", 440000, true},
		{"limit equal to IRS", 2025, plan{typ: "DCFSA", limitIndividual: limitsCents(500000)}, "INDIVIDUAL", 500000, true},
		{"individual above IRS is capped", 2026, plan{typ: "FSA", limitIndividual: limitsCents(999900)}, "INDIVIDUAL", 340000, true},
		{"family above IRS is capped", 2024, plan{typ: "HSA", limitFamily: limitsCents(900000)}, "FAMILY", 830000, true},
		{"commuter above IRS is capped", 2026, plan{typ: "COMMUTER", limitIndividual: limitsCents(500000)}, "INDIVIDUAL", 408000, true},
		{"zero plan limit", 2026, plan{typ: "FSA", limitIndividual: limitsCents(0)}, "INDIVIDUAL", 0, true},
		{"unknown year uses the plan's own", 2031, plan{typ: "FSA", limitIndividual: limitsCents(360000)}, "INDIVIDUAL", 360000, true},
		{"unknown year, other tier unset", 2031, plan{typ: "FSA", limitIndividual: limitsCents(360000)}, "FAMILY", 0, false},
		{"HRA with individual limit", 2026, plan{typ: "HRA", limitIndividual: limitsCents(150000), limitFamily: limitsCents(300000)}, "INDIVIDUAL", 150000, true},
		{"HRA with family limit", 2026, plan{typ: "HRA", limitIndividual: limitsCents(150000), limitFamily: limitsCents(300000)}, "FAMILY", 300000, true},
		{"HRA limit not capped by any IRS figure", 2026, plan{typ: "HRA", limitIndividual: limitsCents(2000000)}, "INDIVIDUAL", 2000000, true},
		{"HRA without a family limit", 2026, plan{typ: "HRA", limitIndividual: limitsCents(150000)}, "FAMILY", 0, false},
		{"HRA without limits", 2026, plan{typ: "HRA"}, "INDIVIDUAL", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			got, ok := annualLimit(&p, limitsYear(tc.year), tc.tier, "")
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("annualLimit = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestAnnualLimitHSACatchUp(t *testing.T) {
	jul := &planYear{ // a non-calendar plan year: IRS figures of its start year
		start: time.Date(2025, time.July, 1, 0, 0, 0, 0, time.UTC),
		end:   time.Date(2026, time.June, 30, 0, 0, 0, 0, time.UTC),
	}
	tests := []struct {
		name string
		p    plan
		py   *planYear
		tier string
		dob  string
		want int64
	}{
		{"55th birthday on the plan year's last day", plan{typ: "HSA"}, limitsYear(2026), "INDIVIDUAL", "1971-12-31", 540000},
		{"55th birthday the day after", plan{typ: "HSA"}, limitsYear(2026), "INDIVIDUAL", "1972-01-01", 440000},
		{"55th birthday mid-year", plan{typ: "HSA"}, limitsYear(2026), "INDIVIDUAL", "1971-06-15", 540000},
		{"well over 55", plan{typ: "HSA"}, limitsYear(2026), "INDIVIDUAL", "1950-03-01", 540000},
		{"under 55", plan{typ: "HSA"}, limitsYear(2026), "INDIVIDUAL", "1990-01-01", 440000},
		{"family tier gets it too", plan{typ: "HSA"}, limitsYear(2026), "FAMILY", "1971-12-31", 975000},
		{"family tier, day after", plan{typ: "HSA"}, limitsYear(2026), "FAMILY", "1972-01-01", 875000},
		{"2025 plan year", plan{typ: "HSA"}, limitsYear(2025), "INDIVIDUAL", "1970-12-31", 530000},
		{"Jul-Jun year, birthday on its last day", plan{typ: "HSA"}, jul, "INDIVIDUAL", "1971-06-30", 530000},
		{"Jul-Jun year, birthday the day after", plan{typ: "HSA"}, jul, "INDIVIDUAL", "1971-07-01", 430000},
		{"on top of the plan's own limit", plan{typ: "HSA", limitIndividual: limitsCents(300000)}, limitsYear(2026), "INDIVIDUAL", "1960-01-01", 400000},
		{"on top of a capped plan limit", plan{typ: "HSA", limitIndividual: limitsCents(900000)}, limitsYear(2026), "INDIVIDUAL", "1960-01-01", 540000},
		{"no DOB, no catch-up", plan{typ: "HSA"}, limitsYear(2026), "INDIVIDUAL", "", 440000},
		{"bad DOB, no catch-up", plan{typ: "HSA"}, limitsYear(2026), "INDIVIDUAL", "12/31/1950", 440000},
		{"FSA has no catch-up", plan{typ: "FSA"}, limitsYear(2026), "INDIVIDUAL", "1950-01-01", 340000},
		{"DCFSA has no catch-up", plan{typ: "DCFSA"}, limitsYear(2026), "FAMILY", "1950-01-01", 750000},
		{"LPFSA has no catch-up", plan{typ: "LPFSA"}, limitsYear(2026), "INDIVIDUAL", "1950-01-01", 340000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			got, ok := annualLimit(&p, tc.py, tc.tier, tc.dob)
			if !ok || got != tc.want {
				t.Errorf("annualLimit(dob %q) = %d, %v; want %d, true", tc.dob, got, ok, tc.want)
			}
		})
	}
	// An HSA with no known limit stays unknown whatever the age.
	if got, ok := annualLimit(&plan{typ: "HSA"}, limitsYear(2031), "INDIVIDUAL", "1950-01-01"); ok {
		t.Errorf("annualLimit(HSA 2031) = %d, true; want ok=false", got)
	}
}
