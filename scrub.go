package enrollsftp

import "regexp"

// ssnShaped finds what looks like an SSN anywhere in a text: 123-45-6789,
// 123 45 6789, or nine digits standing alone.
var ssnShaped = regexp.MustCompile(`(^|[^0-9])([0-9]{3})[- ]?([0-9]{2})[- ]?([0-9]{4})($|[^0-9])`)

// dateShaped finds a date-like value (1980-04-12, 04/12/1980, 4.12.80).
var dateShaped = regexp.MustCompile(`[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}`)

// ScrubSSN masks every SSN-shaped run of digits in s. It guards text that
// echoes vendor input — messages, cells out of place, a header that is
// really a data row — where the SSN column cannot be told by position.
// A nine-digit ZIP+4 written without its dash is masked too: a lost ZIP in
// an error file costs less than a leaked SSN.
func ScrubSSN(s string) string {
	if !mayHoldSSN(s) {
		return s
	}
	for range 8 { // overlapping matches: each pass masks the ones the last left
		out := ssnShaped.ReplaceAllString(s, "${1}***-**-${4}${5}")
		if out == s {
			break
		}
		s = out
	}
	return s
}

// ScrubSensitive masks SSN-shaped and date-shaped values: for cells whose
// column is unknown (a ragged row, a data row taken for a header), where a
// date may be a date of birth.
func ScrubSensitive(s string) string {
	return dateShaped.ReplaceAllString(ScrubSSN(s), "****-**-**")
}

// mayHoldSSN reports whether s has nine digits in one run of digits,
// dashes and spaces: every SSN shape lies in such a run, and most text
// (names, dates, UUIDs) has none, so the costly regexp is skipped for it.
func mayHoldSSN(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n++; n >= 9 {
				return true
			}
		case c == '-' || c == ' ':
		default:
			n = 0
		}
	}
	return false
}
