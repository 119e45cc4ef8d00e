package validate

// states holds every two-letter code the USPS accepts in the state field of
// an address: the 50 states, the District of Columbia, the inhabited
// territories, the freely associated states, and the military "states" used
// for APO/FPO/DPO mail.
var states = map[string]bool{
	// States.
	"AL": true, "AK": true, "AZ": true, "AR": true, "CA": true,
	"CO": true, "CT": true, "DE": true, "FL": true, "GA": true,
	"HI": true, "ID": true, "IL": true, "IN": true, "IA": true,
	"KS": true, "KY": true, "LA": true, "ME": true, "MD": true,
	"MA": true, "MI": true, "MN": true, "MS": true, "MO": true,
	"MT": true, "NE": true, "NV": true, "NH": true, "NJ": true,
	"NM": true, "NY": true, "NC": true, "ND": true, "OH": true,
	"OK": true, "OR": true, "PA": true, "RI": true, "SC": true,
	"SD": true, "TN": true, "TX": true, "UT": true, "VT": true,
	"VA": true, "WA": true, "WV": true, "WI": true, "WY": true,
	// Federal district.
	"DC": true,
	// Territories.
	"PR": true, "VI": true, "GU": true, "AS": true, "MP": true,
	// Freely associated states.
	"FM": true, "MH": true, "PW": true,
	// Military: Americas, Europe/Africa/Middle East, Pacific.
	"AA": true, "AE": true, "AP": true,
}

// ValidState reports whether code is a USPS state code. The caller is
// expected to have upper-cased it already.
func ValidState(code string) bool {
	return states[code]
}

// prefixRange is an inclusive range of 3-digit ZIP prefixes.
type prefixRange struct{ lo, hi int }

// zipPrefixes maps each state code to the 3-digit ZIP prefixes (USPS
// sectional center facility prefixes) used for addresses in it. A prefix that
// is genuinely used by more than one code is listed under each of them:
//
//   - 063 (New London, CT SCF) also serves Fishers Island, NY (06390).
//   - 739 (Oklahoma panhandle) also serves Texhoma, TX (73960).
//   - 834 (Pocatello/Idaho Falls, ID SCF) also serves Alta, WY (83414).
//   - 967 (Honolulu, HI) also serves American Samoa (96799).
//   - 969 (Guam SCF) serves GU, MP, PW, FM and MH.
//
// A few unassigned prefixes fall inside a state's range (e.g. 343 within
// FL 341-349); they are kept there so the table stays compact, which only
// widens acceptance within the state that surrounds them.
var zipPrefixes = map[string][]prefixRange{
	"AA": {{340, 340}},
	"AE": {{90, 98}},
	"AK": {{995, 999}},
	"AL": {{350, 369}},
	"AP": {{962, 966}},
	"AR": {{716, 729}},
	"AS": {{967, 967}},
	"AZ": {{850, 865}},
	"CA": {{900, 961}},
	"CO": {{800, 816}},
	"CT": {{60, 69}},
	"DC": {{200, 200}, {202, 205}, {569, 569}},
	"DE": {{197, 199}},
	"FL": {{320, 339}, {341, 349}},
	"FM": {{969, 969}},
	"GA": {{300, 319}, {398, 399}},
	"GU": {{969, 969}},
	"HI": {{967, 968}},
	"IA": {{500, 528}},
	"ID": {{832, 838}},
	"IL": {{600, 629}},
	"IN": {{460, 479}},
	"KS": {{660, 679}},
	"KY": {{400, 427}},
	"LA": {{700, 714}},
	"MA": {{10, 27}, {55, 55}},
	"MD": {{206, 219}},
	"ME": {{39, 49}},
	"MH": {{969, 969}},
	"MI": {{480, 499}},
	"MN": {{550, 567}},
	"MO": {{630, 658}},
	"MP": {{969, 969}},
	"MS": {{386, 397}},
	"MT": {{590, 599}},
	"NC": {{270, 289}},
	"ND": {{580, 588}},
	"NE": {{680, 693}},
	"NH": {{30, 38}},
	"NJ": {{70, 89}},
	"NM": {{870, 884}},
	"NV": {{889, 898}},
	"NY": {{5, 5}, {63, 63}, {100, 149}},
	"OH": {{430, 459}},
	"OK": {{730, 731}, {734, 749}},
	"OR": {{970, 979}},
	"PA": {{150, 196}},
	"PR": {{6, 7}, {9, 9}},
	"PW": {{969, 969}},
	"RI": {{28, 29}},
	"SC": {{290, 299}},
	"SD": {{570, 577}},
	"TN": {{370, 385}},
	"TX": {{733, 733}, {739, 739}, {750, 799}, {885, 885}},
	"UT": {{840, 847}},
	"VA": {{201, 201}, {220, 246}},
	"VI": {{8, 8}},
	"VT": {{50, 54}, {56, 59}},
	"WA": {{980, 994}},
	"WI": {{530, 549}},
	"WV": {{247, 268}},
	"WY": {{820, 831}, {834, 834}},
}

// ZIPInState reports whether zip's 3-digit prefix is one the USPS uses for
// state. zip must be 5 digits, 9 digits, or 5 digits, a hyphen and 4 digits
// ("12345", "123456789", "12345-6789"); anything else, or an unknown state,
// yields false.
func ZIPInState(state, zip string) bool {
	ranges, ok := zipPrefixes[state]
	if !ok || !wellFormedZIP(zip) {
		return false
	}
	p := int(zip[0]-'0')*100 + int(zip[1]-'0')*10 + int(zip[2]-'0')
	for _, r := range ranges {
		if p >= r.lo && p <= r.hi {
			return true
		}
	}
	return false
}

// wellFormedZIP reports whether zip is "NNNNN", "NNNNNNNNN" or "NNNNN-NNNN"
// using ASCII digits only.
func wellFormedZIP(zip string) bool {
	switch len(zip) {
	case 5, 9:
		return allDigits(zip)
	case 10:
		return zip[5] == '-' && allDigits(zip[:5]) && allDigits(zip[6:])
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
