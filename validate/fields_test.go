package validate

import (
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/schemas"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

// checkErr compares an error against the wanted code ("" for none) and field.
func checkErr(t *testing.T, err *enrollsftp.Error, wantCode enrollsftp.Code, wantField string) {
	t.Helper()
	if wantCode == "" {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %s", wantCode)
	}
	if err.Code != wantCode {
		t.Errorf("got code %s, want %s", err.Code, wantCode)
	}
	if err.Field != wantField {
		t.Errorf("got field %q, want %q", err.Field, wantField)
	}
	if err.Message == "" {
		t.Errorf("got empty message, want one")
	}
}

// assertNotLeaked fails when secret (an SSN or a DOB as the vendor wrote
// it, or its bare digits) shows in the error's message or Error() text.
func assertNotLeaked(t *testing.T, err *enrollsftp.Error, secret string) {
	t.Helper()
	if err == nil || secret == "" {
		return
	}
	for _, s := range []string{secret, strings.ReplaceAll(secret, "-", "")} {
		if len(s) < 4 {
			continue
		}
		if strings.Contains(err.Message, s) {
			t.Errorf("message %q contains the value %q, want it never shown", err.Message, s)
		}
		if strings.Contains(err.Error(), s) {
			t.Errorf("Error() %q contains the value %q, want it never shown", err.Error(), s)
		}
	}
}

func TestSSN(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
		code  enrollsftp.Code
	}{
		{"dashed", "123-45-6789", "123456789", ""},
		{"undashed", "123456789", "123456789", ""},
		{"area 665", "665-12-3456", "665123456", ""},
		{"area 899", "899-99-9999", "899999999", ""},
		{"group 01 serial 0001", "001-01-0001", "001010001", ""},
		{"empty", "", "", enrollsftp.InvalidSSN},
		{"eight digits", "87654321", "", enrollsftp.InvalidSSN},
		{"ten digits", "8765432198", "", enrollsftp.InvalidSSN},
		{"dashed too short", "876-54-321", "", enrollsftp.InvalidSSN},
		{"dashes misplaced", "8765-4-3219", "", enrollsftp.InvalidSSN},
		{"one dash only", "876-543219", "", enrollsftp.InvalidSSN},
		{"letters", "87A-54-3219", "", enrollsftp.InvalidSSN},
		{"all letters", "abcdefghi", "", enrollsftp.InvalidSSN},
		{"spaces", "876 54 3219", "", enrollsftp.InvalidSSN},
		{"padded", " 876543219", "", enrollsftp.InvalidSSN},
		{"unicode digits", "８７６５４３２１９", "", enrollsftp.InvalidSSN},
		{"area 000", "000-54-3219", "", enrollsftp.InvalidSSN},
		{"area 000 undashed", "000543219", "", enrollsftp.InvalidSSN},
		{"area 666", "666-54-3219", "", enrollsftp.InvalidSSN},
		{"area 900", "900-54-3219", "", enrollsftp.InvalidSSN},
		{"area 987", "987-54-3219", "", enrollsftp.InvalidSSN},
		{"area 999", "999-54-3219", "", enrollsftp.InvalidSSN},
		{"group 00", "876-00-3219", "", enrollsftp.InvalidSSN},
		{"serial 0000", "876-54-0000", "", enrollsftp.InvalidSSN},
		{"serial 0000 undashed", "876540000", "", enrollsftp.InvalidSSN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SSN(tt.input)
			checkErr(t, err, tt.code, "ssn")
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			assertNotLeaked(t, err, tt.input)
		})
	}
}

func TestZIP(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
		code  enrollsftp.Code
	}{
		{"five digits", "02134", "02134", ""},
		{"nine digits with dash", "02134-1234", "02134-1234", ""},
		{"nine digits without dash", "021341234", "02134-1234", ""},
		{"empty", "", "", enrollsftp.InvalidZIP},
		{"four digits", "2134", "", enrollsftp.InvalidZIP},
		{"six digits", "021345", "", enrollsftp.InvalidZIP},
		{"letters", "ABCDE", "", enrollsftp.InvalidZIP},
		{"letter in plus four", "02134-12X4", "", enrollsftp.InvalidZIP},
		{"dash without plus four", "02134-", "", enrollsftp.InvalidZIP},
		{"plus three", "02134-123", "", enrollsftp.InvalidZIP},
		{"eight digits", "02134123", "", enrollsftp.InvalidZIP},
		{"ten digits", "0213412345", "", enrollsftp.InvalidZIP},
		{"space instead of dash", "02134 1234", "", enrollsftp.InvalidZIP},
		{"trailing newline", "02134\n", "", enrollsftp.InvalidZIP},
		{"canadian postal code", "K1A 0B1", "", enrollsftp.InvalidZIP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ZIP(tt.input)
			checkErr(t, err, tt.code, "zip")
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestState(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
		code  enrollsftp.Code
	}{
		{"state", "MA", "MA", ""},
		{"lower case", "ma", "MA", ""},
		{"mixed case", "Ny", "NY", ""},
		{"district", "DC", "DC", ""},
		{"puerto rico", "PR", "PR", ""},
		{"guam", "GU", "GU", ""},
		{"military americas", "AA", "AA", ""},
		{"military europe lower", "ae", "AE", ""},
		{"unknown", "XX", "", enrollsftp.InvalidState},
		{"empty", "", "", enrollsftp.InvalidState},
		{"one letter", "M", "", enrollsftp.InvalidState},
		{"full name", "Massachusetts", "", enrollsftp.InvalidState},
		{"three letters", "MAS", "", enrollsftp.InvalidState},
		{"padded", " MA", "", enrollsftp.InvalidState},
		{"canadian province", "ON", "", enrollsftp.InvalidState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := State(tt.input)
			checkErr(t, err, tt.code, "state")
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com" // 255 characters
	tests := []struct {
		name  string
		input string
		want  string
		code  enrollsftp.Code
	}{
		{"simple", "jane.doe@example.com", "jane.doe@example.com", ""},
		{"plus tag", "jane+benefits@example.co.uk", "jane+benefits@example.co.uk", ""},
		{"case kept", "Jane.Doe@Example.com", "Jane.Doe@Example.com", ""},
		{"subdomain", "j@mail.example.org", "j@mail.example.org", ""},
		{"empty", "", "", enrollsftp.InvalidEmail},
		{"no at", "jane.example.com", "", enrollsftp.InvalidEmail},
		{"no domain dot", "jane@localhost", "", enrollsftp.InvalidEmail},
		{"domain starts with dot", "jane@.example.com", "", enrollsftp.InvalidEmail},
		{"domain ends with dot", "jane@example.com.", "", enrollsftp.InvalidEmail},
		{"two ats", "jane@doe@example.com", "", enrollsftp.InvalidEmail},
		{"display name", "Jane Doe <jane@example.com>", "", enrollsftp.InvalidEmail},
		{"angle brackets", "<jane@example.com>", "", enrollsftp.InvalidEmail},
		{"ip literal", "jane@[192.168.0.1]", "", enrollsftp.InvalidEmail},
		{"space inside", "jane doe@example.com", "", enrollsftp.InvalidEmail},
		{"too long", long, "", enrollsftp.InvalidEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Email(tt.input)
			checkErr(t, err, tt.code, "email")
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPhone(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
		code  enrollsftp.Code
	}{
		{"ten digits", "6175551234", "6175551234", ""},
		{"parentheses", "(617) 555-1234", "6175551234", ""},
		{"dots", "617.555.1234", "6175551234", ""},
		{"dashes", "617-555-1234", "6175551234", ""},
		{"plus one", "+1 617 555 1234", "6175551234", ""},
		{"plus one dashed", "+1-617-555-1234", "6175551234", ""},
		{"leading one", "1 (617) 555-1234", "6175551234", ""},
		{"eleven digits with one", "16175551234", "6175551234", ""},
		{"empty", "", "", enrollsftp.InvalidPhone},
		{"too short", "555-1234", "", enrollsftp.InvalidPhone},
		{"too long", "617555123456", "", enrollsftp.InvalidPhone},
		{"eleven digits not one", "26175551234", "", enrollsftp.InvalidPhone},
		{"letters", "617-555-CALL", "", enrollsftp.InvalidPhone},
		{"extension", "617-555-1234 x12", "", enrollsftp.InvalidPhone},
		{"plus in the middle", "617+555+1234", "", enrollsftp.InvalidPhone},
		{"plus alone", "+", "", enrollsftp.InvalidPhone},
		{"area code starts with 0", "017-555-1234", "", enrollsftp.InvalidPhone},
		{"area code starts with 1", "+1 117 555 1234", "", enrollsftp.InvalidPhone},
		{"exchange starts with 1", "617-155-1234", "", enrollsftp.InvalidPhone},
		{"exchange starts with 0", "617-055-1234", "", enrollsftp.InvalidPhone},
		{"foreign", "+44 20 7946 0958", "", enrollsftp.InvalidPhone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Phone(tt.input)
			checkErr(t, err, tt.code, "phone")
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAmount(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  int64
		code  enrollsftp.Code
	}{
		{"whole dollars", "1200", 120000, ""},
		{"one decimal", "1200.5", 120050, ""},
		{"two decimals", "1200.00", 120000, ""},
		{"thousands separator", "1,200.00", 120000, ""},
		{"millions separator", "1,234,567.89", 123456789, ""},
		{"dollar sign", "$5.01", 501, ""},
		{"dollar sign and separator", "$1,200", 120000, ""},
		{"zero", "0", 0, ""},
		{"zero cents", "0.00", 0, ""},
		{"leading zeros", "007.5", 750, ""},
		// 0.29 and 1234567.89 are not exact in binary floating point:
		// 0.29*100 is 28.999999999999996 and 1234567.89*100 is
		// 123456788.99999999, so a float on the way would lose a cent.
		{"no float 0.29", "0.29", 29, ""},
		{"no float 0.57", "0.57", 57, ""},
		{"no float 1.15", "1.15", 115, ""},
		{"no float 1234567.89", "1234567.89", 123456789, ""},
		{"no float 4.35", "$4.35", 435, ""},
		{"limit", "100000000", 100_000_000_00, ""},
		{"limit with cents", "99,999,999.99", 99_999_999_99, ""},
		{"negative", "-1", 0, enrollsftp.InvalidAmount},
		{"negative with sign after dollar", "$-1.00", 0, enrollsftp.InvalidAmount},
		{"plus sign", "+1", 0, enrollsftp.InvalidAmount},
		{"three decimals", "1.234", 0, enrollsftp.InvalidAmount},
		{"letters", "abc", 0, enrollsftp.InvalidAmount},
		{"bad grouping", "1,20", 0, enrollsftp.InvalidAmount},
		{"grouping of four", "1200,000", 0, enrollsftp.InvalidAmount},
		{"empty", "", 0, enrollsftp.InvalidAmount},
		{"dot only", ".", 0, enrollsftp.InvalidAmount},
		{"no whole part", ".50", 0, enrollsftp.InvalidAmount},
		{"trailing dot", "12.", 0, enrollsftp.InvalidAmount},
		{"dollar only", "$", 0, enrollsftp.InvalidAmount},
		{"space", "1 200", 0, enrollsftp.InvalidAmount},
		{"exponent", "1e3", 0, enrollsftp.InvalidAmount},
		{"european decimal comma", "1200,50", 0, enrollsftp.InvalidAmount},
		// Large amounts are numbers; the plan limit rejects them (AMOUNT_EXCEEDS_LIMIT).
		{"large but representable", "100000000.01", 10000000001, ""},
		{"largest int64 cents", "92233720368547758.07", 9223372036854775807, ""},
		{"one cent past int64", "92233720368547758.08", 0, enrollsftp.InvalidAmount},
		{"enormous", "99999999999999999999999999999999999999", 0, enrollsftp.InvalidAmount},
		{"enormous grouped", "999,999,999,999,999,999,999,999.99", 0, enrollsftp.InvalidAmount},
		{"int64 overflow", "92233720368547758.08", 0, enrollsftp.InvalidAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Amount("annual_amount", tt.input)
			checkErr(t, err, tt.code, "annual_amount")
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAmountField(t *testing.T) {
	_, err := Amount("limits.family", "abc")
	checkErr(t, err, enrollsftp.InvalidAmount, "limits.family")
}

func TestDOB(t *testing.T) {
	layout, err := schemas.Load("census.v1", "")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) (time.Time, bool) { return layout.ParseDate("dob", s) }
	tests := []struct {
		name  string
		input string
		want  string
		code  enrollsftp.Code
	}{
		{"iso", "1980-07-04", "1980-07-04", ""},
		{"us", "07/04/1980", "1980-07-04", ""},
		{"us short", "7/4/1980", "1980-07-04", ""},
		{"first of 1900", "1900-01-01", "1900-01-01", ""},
		{"today", "2026-11-15", "2026-11-15", ""},
		{"leap day", "2000-02-29", "2000-02-29", ""},
		{"tomorrow", "2026-11-16", "", enrollsftp.InvalidDOB},
		{"future", "2031-03-14", "", enrollsftp.InvalidDOB},
		{"future us", "03/14/2031", "", enrollsftp.InvalidDOB},
		{"last day of 1899", "1899-12-31", "", enrollsftp.InvalidDOB},
		{"ancient", "0001-01-01", "", enrollsftp.InvalidDOB},
		{"february 30", "2026-02-30", "", enrollsftp.InvalidDOB},
		{"february 29 not leap", "1981-02-29", "", enrollsftp.InvalidDOB},
		{"month 13", "1980-13-01", "", enrollsftp.InvalidDOB},
		{"day 00", "1980-01-00", "", enrollsftp.InvalidDOB},
		{"day first", "31/12/1980", "", enrollsftp.InvalidDOB},
		{"two digit year", "12/31/80", "", enrollsftp.InvalidDOB},
		{"with time", "1980-07-04T00:00:00Z", "", enrollsftp.InvalidDOB},
		{"words", "July 4, 1980", "", enrollsftp.InvalidDOB},
		{"empty", "", "", enrollsftp.InvalidDOB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DOB(parse, tt.input, testNow)
			checkErr(t, err, tt.code, "dob")
			gotS := ""
			if !got.IsZero() {
				gotS = got.Format(ISODate)
			}
			if gotS != tt.want {
				t.Errorf("got %q, want %q", gotS, tt.want)
			}
			assertNotLeaked(t, err, tt.input)
		})
	}
}

// TestDOBFutureIsByCalendarDay: "in the future" is judged on the calendar
// day of now's own time zone, not on the UTC instant.
func TestDOBFutureIsByCalendarDay(t *testing.T) {
	layout, err := schemas.Load("census.v1", "")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) (time.Time, bool) { return layout.ParseDate("dob", s) }
	pacific := time.FixedZone("PST", -8*3600)
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name  string
		now   time.Time
		input string
		code  enrollsftp.Code
	}{
		// 20:00 on the 15th in California is already the 16th in UTC.
		{"evening west of utc, tomorrow", time.Date(2026, 11, 15, 20, 0, 0, 0, pacific), "2026-11-16", enrollsftp.InvalidDOB},
		{"evening west of utc, today", time.Date(2026, 11, 15, 20, 0, 0, 0, pacific), "2026-11-15", ""},
		// 08:00 on the 16th in Tokyo is still the 15th in UTC.
		{"morning east of utc, today", time.Date(2026, 11, 16, 8, 0, 0, 0, tokyo), "2026-11-16", ""},
		{"morning east of utc, tomorrow", time.Date(2026, 11, 16, 8, 0, 0, 0, tokyo), "2026-11-17", enrollsftp.InvalidDOB},
		{"midnight utc, today", time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), "2026-11-15", ""},
		{"last instant utc, tomorrow", time.Date(2026, 11, 15, 23, 59, 59, 999999999, time.UTC), "2026-11-16", enrollsftp.InvalidDOB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DOB(parse, tt.input, tt.now)
			checkErr(t, err, tt.code, "dob")
		})
	}
}

// TestNoSecretInMessages runs every field validator on bad values that
// look like an SSN or a DOB: no error text may carry them.
func TestNoSecretInMessages(t *testing.T) {
	layout, err := schemas.Load("census.v1", "")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) (time.Time, bool) { return layout.ParseDate("dob", s) }
	for _, ssn := range []string{"000-12-3456", "666123456", "912-34-5678", "123-00-4567", "123-45-0000",
		"8765-4-3219", "87-654-3219", "87654321", "8765432109", "876-54-321X"} {
		t.Run("ssn "+ssn, func(t *testing.T) {
			_, err := SSN(ssn)
			if err == nil {
				t.Fatalf("got no error, want %s", enrollsftp.InvalidSSN)
			}
			assertNotLeaked(t, err, ssn)
		})
	}
	for _, dob := range []string{"2030-01-02", "1850-06-07", "1980-02-30", "13/01/1980", "1980/01/02", "01-02-1980"} {
		t.Run("dob "+dob, func(t *testing.T) {
			_, err := DOB(parse, dob, testNow)
			if err == nil {
				t.Fatalf("got no error, want %s", enrollsftp.InvalidDOB)
			}
			assertNotLeaked(t, err, dob)
		})
	}
}
