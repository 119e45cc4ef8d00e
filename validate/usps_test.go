package validate

import "testing"

func TestValidState(t *testing.T) {
	for code := range states {
		if !ValidState(code) {
			t.Errorf("ValidState(%q) = false, want true", code)
		}
	}
	if len(states) != 62 {
		t.Errorf("len(states) = %d, want 62 (50 states + DC + 5 territories + 3 FAS + 3 military)", len(states))
	}
	for _, code := range []string{"XX", "ZZ", "", "ma", "M", "MAS", "UM", "CZ", "PI", "TT"} {
		if ValidState(code) {
			t.Errorf("ValidState(%q) = true, want false", code)
		}
	}
}

func TestZIPInStateAccepts(t *testing.T) {
	tests := []struct {
		state, zip string
	}{
		{"AL", "35203"}, // Birmingham
		{"AK", "99501"}, // Anchorage
		{"AZ", "85001"}, // Phoenix
		{"AR", "72201"}, // Little Rock
		{"CA", "90210"}, // Beverly Hills
		{"CO", "80202"}, // Denver
		{"CT", "06103"}, // Hartford
		{"DE", "19901"}, // Dover
		{"FL", "33101"}, // Miami
		{"GA", "30303"}, // Atlanta
		{"HI", "96813"}, // Honolulu
		{"ID", "83702"}, // Boise
		{"IL", "60601"}, // Chicago
		{"IN", "46204"}, // Indianapolis
		{"IA", "50309"}, // Des Moines
		{"KS", "66603"}, // Topeka
		{"KY", "40601"}, // Frankfort
		{"LA", "70112"}, // New Orleans
		{"ME", "04101"}, // Portland
		{"MD", "21201"}, // Baltimore
		{"MA", "02134"}, // Allston
		{"MI", "48226"}, // Detroit
		{"MN", "55401"}, // Minneapolis
		{"MS", "39201"}, // Jackson
		{"MO", "63101"}, // St. Louis
		{"MT", "59601"}, // Helena
		{"NE", "68102"}, // Omaha
		{"NV", "89101"}, // Las Vegas
		{"NH", "03301"}, // Concord
		{"NJ", "07102"}, // Newark
		{"NM", "87501"}, // Santa Fe
		{"NY", "10001"}, // New York
		{"NC", "27601"}, // Raleigh
		{"ND", "58501"}, // Bismarck
		{"OH", "43215"}, // Columbus
		{"OK", "73102"}, // Oklahoma City
		{"OR", "97201"}, // Portland
		{"PA", "19103"}, // Philadelphia
		{"RI", "02903"}, // Providence
		{"SC", "29201"}, // Columbia
		{"SD", "57501"}, // Pierre
		{"TN", "37201"}, // Nashville
		{"TX", "78701"}, // Austin
		{"UT", "84101"}, // Salt Lake City
		{"VT", "05601"}, // Montpelier
		{"VA", "23219"}, // Richmond
		{"WA", "98101"}, // Seattle
		{"WV", "25301"}, // Charleston
		{"WI", "53703"}, // Madison
		{"WY", "82001"}, // Cheyenne
		{"DC", "20500"}, // White House
		{"PR", "00901"}, // San Juan
		{"VI", "00802"}, // St. Thomas
		{"GU", "96910"}, // Hagatna
		{"AS", "96799"}, // Pago Pago
		{"MP", "96950"}, // Saipan
		{"FM", "96941"}, // Pohnpei
		{"MH", "96960"}, // Majuro
		{"PW", "96940"}, // Koror
		{"AA", "34002"}, // APO/FPO Americas
		{"AE", "09001"}, // APO/FPO Europe
		{"AP", "96201"}, // APO/FPO Pacific

		// Out-of-pattern and shared prefixes.
		{"NY", "00501"}, // Holtsville (IRS)
		{"NY", "06390"}, // Fishers Island (CT SCF)
		{"MA", "05501"}, // Andover (IRS)
		{"VA", "20101"}, // Dulles
		{"DC", "20001"}, // Washington
		{"DC", "56901"}, // parcel return
		{"GA", "39901"}, // Atlanta (IRS)
		{"PR", "00601"}, // Adjuntas
		{"PR", "00725"}, // Caguas
		{"TX", "73301"}, // Austin (IRS)
		{"TX", "73960"}, // Texhoma
		{"TX", "88510"}, // El Paso
		{"WY", "83414"}, // Alta
		{"HI", "96799"}, // 967 is shared with AS

		// Formats.
		{"MA", "02134-1234"},
		{"MA", "021341234"},
		{"AK", "99999"},
	}
	for _, tt := range tests {
		t.Run(tt.state+"_"+tt.zip, func(t *testing.T) {
			if !ZIPInState(tt.state, tt.zip) {
				t.Errorf("ZIPInState(%q, %q) = false, want true", tt.state, tt.zip)
			}
		})
	}
}

func TestZIPInStateRejects(t *testing.T) {
	tests := []struct {
		name, state, zip string
	}{
		// Mismatches.
		{"MA zip as CA", "CA", "02134"},
		{"CA zip as NY", "NY", "90210"},
		{"NY zip as NJ", "NJ", "10001"},
		{"AS zip as GU", "GU", "96799"},
		{"GU zip as HI", "HI", "96910"},
		{"VI zip as PR", "PR", "00802"},
		{"PR zip as VI", "VI", "00901"},
		{"VA Dulles as DC", "DC", "20101"},
		{"DC zip as VA", "VA", "20500"},
		{"DC zip as MD", "MD", "20500"},
		{"AA zip as FL", "FL", "34002"},
		{"FL zip as AA", "AA", "33101"},
		{"AE zip as NJ", "NJ", "09001"},
		{"AP zip as HI", "HI", "96201"},
		{"Austin IRS as OK", "OK", "73301"},
		{"El Paso 885 as NM", "NM", "88510"},
		{"Andover 055 as VT", "VT", "05501"},
		{"Holtsville 005 as PR", "PR", "00501"},
		{"unassigned 000", "NY", "00000"},
		{"unassigned 004", "MA", "00401"},

		// Malformed zips.
		{"empty", "MA", ""},
		{"4 digits", "MA", "0213"},
		{"6 digits", "MA", "021345"},
		{"8 digits", "MA", "02134123"},
		{"10 digits", "MA", "0213412345"},
		{"letter", "MA", "0213a"},
		{"letters", "MA", "abcde"},
		{"short plus4", "MA", "02134-123"},
		{"long plus4", "MA", "02134-12345"},
		{"trailing hyphen", "MA", "02134-"},
		{"space separator", "MA", "02134 1234"},
		{"hyphen misplaced", "MA", "0213-41234"},
		{"leading space", "MA", " 02134"},
		{"trailing space", "MA", "02134 "},
		{"sign", "MA", "+2134"},
		{"negative", "MA", "-2134"},
		{"plus4 letters", "MA", "02134-abcd"},
		{"fullwidth digits", "MA", "０２１３４"},
		{"non-utf8", "MA", "\xff\xfe\xfd\xfc\xfb"},

		// Invalid states.
		{"XX", "XX", "02134"},
		{"ZZ", "ZZ", "02134"},
		{"empty state", "", "02134"},
		{"lower case", "ma", "02134"},
		{"UM", "UM", "96898"},
		{"both empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ZIPInState(tt.state, tt.zip) {
				t.Errorf("ZIPInState(%q, %q) = true, want false", tt.state, tt.zip)
			}
		})
	}
}

func TestTablesConsistent(t *testing.T) {
	for code := range states {
		if len(zipPrefixes[code]) == 0 {
			t.Errorf("state %q has no zipPrefixes entry", code)
		}
	}
	for code, ranges := range zipPrefixes {
		if !states[code] {
			t.Errorf("zipPrefixes has %q, which is not in states", code)
		}
		for _, r := range ranges {
			if r.lo < 0 || r.hi > 999 || r.lo > r.hi {
				t.Errorf("zipPrefixes[%q] has bad range %v", code, r)
			}
		}
	}
}

// TestPrefixSharing checks that every prefix claimed by more than one code is
// one of the known, genuinely shared prefixes.
func TestPrefixSharing(t *testing.T) {
	shared := map[int]bool{63: true, 739: true, 834: true, 967: true, 969: true}
	owners := map[int][]string{}
	for code, ranges := range zipPrefixes {
		for _, r := range ranges {
			for p := r.lo; p <= r.hi; p++ {
				owners[p] = append(owners[p], code)
			}
		}
	}
	for p, codes := range owners {
		if len(codes) > 1 && !shared[p] {
			t.Errorf("prefix %03d claimed by %v", p, codes)
		}
	}
	if got := len(owners[969]); got != 5 {
		t.Errorf("prefix 969 has %d owners, want 5 (GU, MP, PW, FM, MH)", got)
	}
}

func FuzzZIPInState(f *testing.F) {
	f.Add("MA", "02134")
	f.Add("", "12345-6789")
	f.Add("NY", "\x00\x00\x00")
	f.Fuzz(func(t *testing.T, state, zip string) {
		_ = ZIPInState(state, zip)
		_ = ValidState(state)
	})
}
