package enroll

import (
	"testing"
	"time"
)

// periodsDay parses a YYYY-MM-DD date for the period tests.
func periodsDay(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(isoDate, s)
	if err != nil {
		t.Fatalf("bad test date %q: %v", s, err)
	}
	return d
}

func TestPeriodStartsEveryNDays(t *testing.T) {
	tests := []struct {
		freq  string
		start string
		n     int
		step  int
		last  string
	}{
		{"WEEKLY", "2026-01-01", 52, 7, "2026-12-24"},
		{"BIWEEKLY", "2026-01-01", 26, 14, "2026-12-17"},
		{"WEEKLY", "2025-07-01", 52, 7, "2026-06-23"},
		{"BIWEEKLY", "2025-07-01", 26, 14, "2026-06-16"},
		{"BIWEEKLY", "2024-01-10", 26, 14, "2024-12-25"}, // leap year, mid-month start
	}
	for _, tc := range tests {
		t.Run(tc.freq+"/"+tc.start, func(t *testing.T) {
			start := periodsDay(t, tc.start)
			got := periodStarts(tc.freq, start)
			if len(got) != tc.n {
				t.Fatalf("len = %d, want %d", len(got), tc.n)
			}
			if !got[0].Equal(start) {
				t.Errorf("first = %s, want the plan-year start %s", got[0].Format(isoDate), tc.start)
			}
			for i := 1; i < len(got); i++ {
				if d := got[i].Sub(got[i-1]); d != time.Duration(tc.step)*24*time.Hour {
					t.Fatalf("period %d starts %s after period %d, want %d days", i, d, i-1, tc.step)
				}
			}
			if l := got[len(got)-1].Format(isoDate); l != tc.last {
				t.Errorf("last = %s, want %s", l, tc.last)
			}
		})
	}
}

func TestPeriodStartsSemimonthly(t *testing.T) {
	tests := []struct {
		start       string
		first, last string
		firstDay    int // day of the first period: 1 or 16
	}{
		{"2026-01-01", "2026-01-01", "2026-12-16", 1},
		{"2025-07-01", "2025-07-01", "2026-06-16", 1},
		{"2026-01-10", "2026-01-16", "2027-01-01", 16},
		{"2026-01-16", "2026-01-16", "2027-01-01", 16},
		{"2026-01-17", "2026-02-01", "2027-01-16", 1},
		{"2026-01-02", "2026-01-16", "2027-01-01", 16},
	}
	for _, tc := range tests {
		t.Run(tc.start, func(t *testing.T) {
			got := periodStarts("SEMIMONTHLY", periodsDay(t, tc.start))
			if len(got) != 24 {
				t.Fatalf("len = %d, want 24", len(got))
			}
			if f := got[0].Format(isoDate); f != tc.first {
				t.Errorf("first = %s, want %s", f, tc.first)
			}
			if l := got[23].Format(isoDate); l != tc.last {
				t.Errorf("last = %s, want %s", l, tc.last)
			}
			// Alternating 1st and 16th, month by month, strictly increasing.
			day := tc.firstDay
			for i, p := range got {
				if p.Day() != day {
					t.Fatalf("period %d = %s, want day %d", i, p.Format(isoDate), day)
				}
				if i > 0 && !p.After(got[i-1]) {
					t.Fatalf("period %d = %s not after %s", i, p.Format(isoDate), got[i-1].Format(isoDate))
				}
				if i > 0 && day == 1 && !p.AddDate(0, -1, 15).Equal(got[i-1]) {
					t.Fatalf("period %d = %s does not follow %s", i, p.Format(isoDate), got[i-1].Format(isoDate))
				}
				day = 17 - day
			}
		})
	}
	// The Jan-1 plan year in full.
	got := periodStarts("SEMIMONTHLY", periodsDay(t, "2026-01-01"))
	for i, p := range got {
		want := time.Date(2026, time.Month(i/2+1), 1+15*(i%2), 0, 0, 0, 0, time.UTC)
		if !p.Equal(want) {
			t.Errorf("period %d = %s, want %s", i, p.Format(isoDate), want.Format(isoDate))
		}
	}
}

func TestPeriodStartsMonthly(t *testing.T) {
	tests := []struct {
		start       string
		first, last string
	}{
		{"2026-01-01", "2026-01-01", "2026-12-01"},
		{"2026-01-10", "2026-02-01", "2027-01-01"},
		{"2025-07-01", "2025-07-01", "2026-06-01"},
		{"2025-12-31", "2026-01-01", "2026-12-01"},
	}
	for _, tc := range tests {
		t.Run(tc.start, func(t *testing.T) {
			got := periodStarts("MONTHLY", periodsDay(t, tc.start))
			if len(got) != 12 {
				t.Fatalf("len = %d, want 12", len(got))
			}
			if f := got[0].Format(isoDate); f != tc.first {
				t.Errorf("first = %s, want %s", f, tc.first)
			}
			if l := got[11].Format(isoDate); l != tc.last {
				t.Errorf("last = %s, want %s", l, tc.last)
			}
			for i, p := range got {
				if p.Day() != 1 {
					t.Errorf("period %d = %s, not on the 1st", i, p.Format(isoDate))
				}
				if i > 0 && !p.Equal(got[i-1].AddDate(0, 1, 0)) {
					t.Errorf("period %d = %s, not a month after %s", i, p.Format(isoDate), got[i-1].Format(isoDate))
				}
			}
		})
	}
}

func TestPeriodStartsUnknownFrequency(t *testing.T) {
	for _, f := range []string{"", "DAILY", "weekly", "QUARTERLY"} {
		if got := periodStarts(f, periodsDay(t, "2026-01-01")); len(got) != 0 {
			t.Errorf("periodStarts(%q) = %d periods, want none", f, len(got))
		}
	}
}

func TestCountPeriods(t *testing.T) {
	biweekly := periodStarts("BIWEEKLY", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name     string
		from, to string // to "" = no upper bound
		want     int
	}{
		{"whole year", "2026-01-01", "", 26},
		{"before the plan year", "2025-06-01", "", 26},
		{"on a period start counts", "2026-01-15", "", 25},
		{"a day after a period start", "2026-01-02", "", 25},
		{"mid-year", "2026-07-01", "", 13},
		{"on the last start", "2026-12-17", "", 1},
		{"after the last start", "2026-12-18", "", 0},
		{"upper bound excluded", "2026-01-01", "2026-01-15", 1},
		{"upper bound a day later", "2026-01-01", "2026-01-16", 2},
		{"empty range", "2026-03-01", "2026-03-01", 0},
		{"bounded mid-year", "2026-01-01", "2026-07-01", 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var to time.Time
			if tc.to != "" {
				to = periodsDay(t, tc.to)
			}
			if got := countPeriods(biweekly, periodsDay(t, tc.from), to); got != tc.want {
				t.Errorf("countPeriods(%s, %s) = %d, want %d", tc.from, tc.to, got, tc.want)
			}
		})
	}
	if got := countPeriods(nil, periodsDay(t, "2026-01-01"), time.Time{}); got != 0 {
		t.Errorf("countPeriods(nil) = %d, want 0", got)
	}
}

// TestPerPeriod runs the SPEC §3 split: the periods starting on or after the
// effective date remain; floor(annual ÷ remaining) each, the remainder on the
// last; after the last period start, one final deduction of the whole.
func TestPerPeriod(t *testing.T) {
	tests := []struct {
		name      string
		freq      string
		start     string
		effective string
		annual    int64
		periods   int
		per       int64
		last      int64
	}{
		{"2600.00 biweekly from the start", "BIWEEKLY", "2026-01-01", "2026-01-01", 260000, 26, 10000, 10000},
		{"1200.00 biweekly mid-year", "BIWEEKLY", "2026-01-01", "2026-07-01", 120000, 13, 9230, 9240},
		{"1000.00 monthly from Jan 1", "MONTHLY", "2026-01-01", "2026-01-01", 100000, 12, 8333, 8337},
		{"1000.00 weekly from the start", "WEEKLY", "2026-01-01", "2026-01-01", 100000, 52, 1923, 1927},
		{"2400.00 semimonthly from the start", "SEMIMONTHLY", "2026-01-01", "2026-01-01", 240000, 24, 10000, 10000},
		{"1000.00 semimonthly from Jun 10", "SEMIMONTHLY", "2026-01-01", "2026-06-10", 100000, 13, 7692, 7696},
		{"500.00 monthly, Jul-1 plan year, from Jan 15", "MONTHLY", "2025-07-01", "2026-01-15", 50000, 5, 10000, 10000},
		{"effective on the last period start", "BIWEEKLY", "2026-01-01", "2026-12-17", 50000, 1, 50000, 50000},
		{"effective after the last period start", "BIWEEKLY", "2026-01-01", "2026-12-20", 50000, 1, 50000, 50000},
		{"effective before the plan year", "MONTHLY", "2026-01-01", "2025-12-01", 120000, 12, 10000, 10000},
		{"less than a cent a period", "BIWEEKLY", "2026-01-01", "2026-01-01", 10, 26, 0, 10},
		{"nothing left", "WEEKLY", "2026-01-01", "2026-01-01", 0, 52, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remaining := countPeriods(periodStarts(tc.freq, periodsDay(t, tc.start)), periodsDay(t, tc.effective), time.Time{})
			per, n := perPeriod(tc.annual, remaining)
			if n != tc.periods {
				t.Fatalf("periods = %d (remaining %d), want %d", n, remaining, tc.periods)
			}
			if per != tc.per {
				t.Errorf("per period = %d, want %d", per, tc.per)
			}
			last := tc.annual - per*int64(n-1)
			if last != tc.last {
				t.Errorf("last period = %d, want %d", last, tc.last)
			}
			if per*int64(n-1)+last != tc.annual {
				t.Errorf("%d×%d + %d != %d", per, n-1, last, tc.annual)
			}
			if r := last - per; r < 0 || r >= int64(n) {
				t.Errorf("remainder on the last = %d, want 0 ≤ r < %d", r, n)
			}
		})
	}
}

func TestPerPeriodNoPeriodsLeft(t *testing.T) {
	for _, periods := range []int{0, -1} {
		per, n := perPeriod(12345, periods)
		if per != 12345 || n != 1 {
			t.Errorf("perPeriod(12345, %d) = %d, %d; want 12345, 1", periods, per, n)
		}
	}
}
