package enroll

import (
	"time"
)

// periodStarts lists the pay periods of a plan year by start date (SPEC §3):
// WEEKLY 52 every 7 days and BIWEEKLY 26 every 14 days from the plan year
// start; SEMIMONTHLY 24 on the 1st and 16th; MONTHLY 12 on the 1st — the
// first of those on or after the plan year start.
func periodStarts(freq string, start time.Time) []time.Time {
	var out []time.Time
	switch freq {
	case "WEEKLY", "BIWEEKLY":
		n, step := 52, 7
		if freq == "BIWEEKLY" {
			n, step = 26, 14
		}
		for i := 0; i < n; i++ {
			out = append(out, start.AddDate(0, 0, i*step))
		}
	case "SEMIMONTHLY":
		d := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
		for len(out) < 24 {
			for _, day := range []int{1, 16} {
				if p := d.AddDate(0, 0, day-1); !p.Before(start) && len(out) < 24 {
					out = append(out, p)
				}
			}
			d = d.AddDate(0, 1, 0)
		}
	case "MONTHLY":
		d := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
		if d.Before(start) {
			d = d.AddDate(0, 1, 0)
		}
		for i := 0; i < 12; i++ {
			out = append(out, d.AddDate(0, i, 0))
		}
	}
	return out
}

// countPeriods counts the periods starting in [from, to); a zero to means
// no upper bound.
func countPeriods(starts []time.Time, from, to time.Time) int {
	n := 0
	for _, s := range starts {
		if !s.Before(from) && (to.IsZero() || s.Before(to)) {
			n++
		}
	}
	return n
}

// perPeriod splits what is left of an annual amount over the periods that
// remain: floor division, the remainder going to the last period. With no
// period left (an election dated after the last payday of the year), the
// whole amount falls on one final deduction.
func perPeriod(remaining int64, periods int) (int64, int) {
	if periods < 1 {
		periods = 1
	}
	return remaining / int64(periods), periods
}
