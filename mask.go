package enrollsftp

import "strings"

// MaskSSN shows only the last four digits of an SSN, as "***-**-1234".
// Anything that is not recognisably an SSN is masked whole: a malformed value
// may still be a real number with a typo in it.
func MaskSSN(s string) string {
	digits := make([]byte, 0, 9)
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	if strings.TrimSpace(s) == "" {
		return ""
	}
	if len(digits) != 9 {
		return "***-**-****"
	}
	return "***-**-" + string(digits[5:])
}

// MaskDOB hides a date of birth entirely; only whether one was given shows.
func MaskDOB(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return "****-**-**"
}

// NeutralizeCell defuses spreadsheet formula injection: a cell that a
// spreadsheet would evaluate (leading = + - @, tab or CR) gets a leading
// apostrophe, which spreadsheets show as text and strip on display.
func NeutralizeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
