package enroll

import "time"

// irsLimits are the annual IRS limits in cents by calendar year and plan
// type: {individual, family}. A year or type missing here has no default,
// and its plans need limits of their own.
var irsLimits = map[int]map[string][2]int64{
	2024: {"HSA": {415000, 830000}, "FSA": {320000, 320000}, "LPFSA": {320000, 320000},
		"DCFSA": {500000, 500000}, "COMMUTER": {315 * 12 * 100, 315 * 12 * 100}},
	2025: {"HSA": {430000, 855000}, "FSA": {330000, 330000}, "LPFSA": {330000, 330000},
		"DCFSA": {500000, 500000}, "COMMUTER": {325 * 12 * 100, 325 * 12 * 100}},
	2026: {"HSA": {440000, 875000}, "FSA": {340000, 340000}, "LPFSA": {340000, 340000},
		"DCFSA": {750000, 750000}, "COMMUTER": {340 * 12 * 100, 340 * 12 * 100}},
}

// hsaCatchUp is the extra HSA contribution allowed from age 55.
const hsaCatchUp = 100000

// annualLimit returns the limit for a plan, tier and plan year: the plan's
// own when set (never above the IRS figure when one is known), else the IRS
// default of the plan year's calendar year. An HSA limit rises by the
// catch-up when the person is 55 or older by the end of the plan year.
func annualLimit(p *plan, py *planYear, tier string, dob string) (int64, bool) {
	idx := 0
	own := p.limitIndividual
	if tier == "FAMILY" {
		idx, own = 1, p.limitFamily
	}
	irs, known := irsLimits[py.start.Year()][p.typ]
	var limit int64
	switch {
	case own != nil && known:
		limit = min(*own, irs[idx])
	case own != nil:
		limit = *own
	case known:
		limit = irs[idx]
	default:
		return 0, false
	}
	if p.typ == "HSA" && dob != "" {
		if d, err := time.Parse(isoDate, dob); err == nil && !d.AddDate(55, 0, 0).After(py.end) {
			limit += hsaCatchUp
		}
	}
	return limit, true
}
