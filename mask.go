package enrollsftp

import (
	"strings"
	"unicode"
)

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
// spreadsheet would evaluate gets a leading apostrophe, which spreadsheets
// show as text and strip on display. That is a cell starting with tab or
// CR, or one whose first visible character is = + - or @ — ASCII or
// full-width (＝ ＋ － ＠) or small (﹦ ﹢ ﹣ ﹫) — after any spaces and
// invisible characters (no-break and zero-width spaces, joiners, byte
// order marks, direction marks, control characters): a spreadsheet may
// drop those and still see the formula. A plain negative number ("-5") is neutralized too: its
// text stays the same once the apostrophe is stripped.
func NeutralizeCell(s string) string {
	if s == "" || plainStart[s[0]] { // the usual cell, at the cost of an inlined look-up
		return s
	}
	return neutralize(s)
}

// plainStart marks the first bytes that settle a cell is no formula: the
// printable ASCII characters but = + - @.
var plainStart = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune("=+-@", c)
	}
	return t
}()

// neutralize is NeutralizeCell past the fast path.
func neutralize(s string) string {
	for _, r := range s {
		switch {
		case strings.ContainsRune(formulaStarts, r):
			return "'" + s
		case invisible(r):
			continue // invisible: look at what follows
		}
		return s
	}
	return s
}

// formulaStarts are the characters that make a spreadsheet read a cell as
// a formula, with the full-width and small forms some normalize to them.
const formulaStarts = "=+-@\t\r＝＋－＠﹦﹢﹣﹫"

// blanks are invisible characters that are neither spaces nor format
// characters to Unicode: the Hangul fillers, the blank Braille pattern and
// the combining grapheme joiner.
const blanks = "\u115f\u1160\u3164\uffa0\u2800\u034f"

// invisible reports whether r shows nothing: a space, a control or format
// character, or one of the blanks.
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf) || strings.ContainsRune(blanks, r)
}
