// Package validate turns raw rows into normalized values, or into every
// field error the row has, each with its stable code. It is pure: no I/O, no
// ledger; rules that need the ledger (references, limits) live in enroll.
package validate

import (
	"math"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"enrollsftp"
)

// SSN returns the nine digits of a well-formed SSN ("123-45-6789" or
// "123456789"), or an INVALID_SSN error. Numbers the SSA never issues by
// structure (area 000, 666 or 900–999; group 00; serial 0000) are malformed;
// publicly known invalid numbers are the KYC verifier's business.
func SSN(s string) (string, *enrollsftp.Error) {
	digits := s
	if len(s) == 11 && s[3] == '-' && s[6] == '-' {
		digits = s[:3] + s[4:6] + s[7:]
	}
	if len(digits) != 9 || !allDigits(digits) {
		return "", enrollsftp.Errorf(enrollsftp.InvalidSSN, "ssn", "must be 9 digits, as NNN-NN-NNNN or NNNNNNNNN")
	}
	area, group, serial := digits[:3], digits[3:5], digits[5:]
	switch {
	case area == "000" || area == "666" || area[0] == '9':
		return "", enrollsftp.Errorf(enrollsftp.InvalidSSN, "ssn", "area number 000, 666 and 900-999 are never issued")
	case group == "00":
		return "", enrollsftp.Errorf(enrollsftp.InvalidSSN, "ssn", "group number 00 is never issued")
	case serial == "0000":
		return "", enrollsftp.Errorf(enrollsftp.InvalidSSN, "ssn", "serial number 0000 is never issued")
	}
	return digits, nil
}

var zipRE = regexp.MustCompile(`^(\d{5})(?:-?(\d{4}))?$`)

// ZIP accepts 5 digits or ZIP+4 (9 digits, with or without the dash) and
// returns "12345" or "12345-6789".
func ZIP(s string) (string, *enrollsftp.Error) {
	m := zipRE.FindStringSubmatch(s)
	if m == nil {
		return "", enrollsftp.Errorf(enrollsftp.InvalidZIP, "zip", "must be 5 digits or ZIP+4 (NNNNN-NNNN)")
	}
	if m[2] != "" {
		return m[1] + "-" + m[2], nil
	}
	return m[1], nil
}

// State accepts a USPS code, including DC, territories and military codes.
func State(s string) (string, *enrollsftp.Error) {
	up := strings.ToUpper(s)
	if !ValidState(up) {
		return "", enrollsftp.Errorf(enrollsftp.InvalidState, "state", "\""+s+"\" is not a USPS state or territory code")
	}
	return up, nil
}

// Email checks a bare address (no display name) with a dotted domain.
func Email(s string) (string, *enrollsftp.Error) {
	bad := enrollsftp.Errorf(enrollsftp.InvalidEmail, "email", "\""+s+"\" is not an email address")
	if len(s) > 254 {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.HasPrefix(domain, "[") {
		return "", bad
	}
	return s, nil
}

// Phone accepts a North American number in the usual spellings — (555)
// 123-4567, 555.123.4567, +1 555 123 4567 — and returns its ten digits.
func Phone(s string) (string, *enrollsftp.Error) {
	var d []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			d = append(d, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' && i == 0:
		default:
			return "", enrollsftp.Errorf(enrollsftp.InvalidPhone, "phone", "may hold only digits, spaces and ( ) - .")
		}
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) != 10 || d[0] < '2' || d[3] < '2' {
		return "", enrollsftp.Errorf(enrollsftp.InvalidPhone, "phone", "must be a 10-digit US number")
	}
	return string(d), nil
}

var amountRE = regexp.MustCompile(`^\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$`)

// Amount parses dollars ("1200", "1200.5", "1,200.00", "$1200.00") into
// integer cents. Money never passes through a float. Any amount that fits
// the ledger (int64 cents) is a number: whether it is too much is the
// plan limit's call (AMOUNT_EXCEEDS_LIMIT), not the parser's.
func Amount(field, s string) (int64, *enrollsftp.Error) {
	m := amountRE.FindStringSubmatch(s)
	if m == nil {
		return 0, enrollsftp.Errorf(enrollsftp.InvalidAmount, field, "\""+s+"\" is not a dollar amount such as 1200.00")
	}
	tooLarge := enrollsftp.Errorf(enrollsftp.InvalidAmount, field, "amount is too large to be a dollar amount")
	frac := m[2] + "00"[len(m[2]):]
	var cents int64
	for _, c := range strings.ReplaceAll(m[1], ",", "") + frac {
		d := int64(c - '0')
		if cents > (math.MaxInt64-d)/10 {
			return 0, tooLarge
		}
		cents = cents*10 + d
	}
	return cents, nil
}

// DOB checks a date of birth: a real date, not in the future, not before
// 1900. The value itself never goes into the message.
func DOB(parse func(string) (time.Time, bool), s string, now time.Time) (time.Time, *enrollsftp.Error) {
	t, ok := parse(s)
	if !ok {
		return time.Time{}, enrollsftp.Errorf(enrollsftp.InvalidDOB, "dob", "is not a valid date in the layout's formats")
	}
	// A date has no time zone: compare it with today's date where now is,
	// not with the UTC instant (an evening run in the US is already
	// tomorrow in UTC).
	if today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC); t.After(today) {
		return time.Time{}, enrollsftp.Errorf(enrollsftp.InvalidDOB, "dob", "is in the future")
	}
	if t.Year() < 1900 {
		return time.Time{}, enrollsftp.Errorf(enrollsftp.InvalidDOB, "dob", "is before 1900")
	}
	return t, nil
}

// ISODate is the ledger's date format.
const ISODate = "2006-01-02"
