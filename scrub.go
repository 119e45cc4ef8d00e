package enrollsftp

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// ssnSeparators are the characters that may stand between the groups of
// an SSN: ASCII dash, space, dot and slash, and what a word processor or
// an East Asian input method puts in their place — no-break and wide
// spaces, hyphens and dashes (en, em, figure, minus), and the full-width
// hyphen-minus, full stop and solidus. mayHoldSSN and ssnShaped must
// agree on this set; TestSSNSeparatorsAgree holds them to it.
const ssnSeparators = "- ./_\u00a0\u2007\u2009\u202f\u3000\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\uff0e\uff0f"

// ssnShaped finds what looks like an SSN anywhere in a text: three, two
// and four digits (ASCII or full-width), each pair of groups joined by at
// most one separator, with no digit on either side: 123-45-6789,
// 123.45.6789, 123/45/6789, 123–45–6789, １２３－４５－６７８９, or nine
// digits standing alone. No date is shaped so: dates group their digits
// 4-2-2, 2-2-4 or 1-2-4, never 3-2-4.
var ssnShaped = regexp.MustCompile(`(^|[^0-9０-９])([0-9０-９]{3})[` + ssnClass + `]?([0-9０-９]{2})[` +
	ssnClass + `]?([0-9０-９]{4})($|[^0-9０-９])`)

// ssnClass is ssnSeparators as the inside of a regexp character class.
var ssnClass = func() string {
	var b strings.Builder
	for _, r := range ssnSeparators {
		if r == '-' {
			b.WriteString(`\-`) // QuoteMeta leaves it, and inside [...] it could make a range
			continue
		}
		b.WriteString(regexp.QuoteMeta(string(r)))
	}
	return b.String()
}()

// numericDate finds a date-like value written in digits and separators:
// 1980-04-12, 04/12/1980, 4.12.80.
var numericDate = regexp.MustCompile(`[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}`)

// compactDate finds eight digits standing alone that read as a date:
// 19800412, 04121980.
var compactDate = regexp.MustCompile(`\b(?:(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])|(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?:19|20)[0-9]{2})\b`)

// wordDate finds a date with its month in words: 12-Apr-1980, 12 April
// 1980, April 12, 1980, Apr. 12th 80.
var wordDate = regexp.MustCompile(`(?i:\b[0-9]{1,2}(?:st|nd|rd|th)?[ \-/.,]*` + monthWord + `[ \-/.,]*[0-9]{2,4}\b)` +
	`|(?i:\b` + monthWord + `[ \-/.,]*[0-9]{1,2}(?:st|nd|rd|th)?[ \-/.,]+[0-9]{2,4}\b)`)

// monthWord is a month's name or its abbreviation, with an optional dot.
const monthWord = `(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?`

// maskDates masks every date-shaped value of s. Each shape's regexp runs
// only on text that can hold it: most cells of a rejected row (a name, a
// city, a street address) hold none, and this runs on all of them.
func maskDates(s string) string {
	const mask = "****-**-**"
	digits, run, longest := 0, 0, 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			digits++
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if digits < 2 {
		return s
	}
	if strings.ContainsAny(s, "-/.") {
		s = numericDate.ReplaceAllString(s, mask)
	}
	if longest >= 8 {
		s = compactDate.ReplaceAllString(s, mask)
	}
	if hasMonthWord(s) {
		s = wordDate.ReplaceAllString(s, mask)
	}
	return s
}

// hasMonthWord reports whether s holds the first three letters of a
// month's name, in any case.
func hasMonthWord(s string) bool {
	for i := 0; i+3 <= len(s); i++ {
		switch string([]byte{s[i] | 0x20, s[i+1] | 0x20, s[i+2] | 0x20}) {
		case "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec":
			return true
		}
	}
	return false
}

// ScrubSSN masks every SSN-shaped run of digits in s. It guards text that
// echoes vendor input — messages, cells out of place, a header that is
// really a data row — where the SSN column cannot be told by position.
// A nine-digit ZIP+4 written without its dash is masked too (and so is a
// number such as 12345.6789): a lost ZIP in an error file costs less than
// a leaked SSN.
func ScrubSSN(s string) string {
	if !mayHoldSSN(s) {
		return s
	}
	// One of our own ids (a batch id in a DUPLICATE or FILE_ALREADY_PROCESSED
	// message) may hold nine digits in a row in its random part.
	return outsideOurIDs(s, scrubRuns)
}

// outsideOurIDs applies scrub to the text of s around our own ids, which
// are left whole: what a scrub finds in them is no SSN or date of birth.
func outsideOurIDs(s string, scrub func(string) string) string {
	if len(s) < 36 || strings.IndexByte(s, '-') < 0 { // too short, or no dash: no id of ours
		return scrub(s)
	}
	ids := ourID.FindAllStringIndex(s, -1)
	if ids == nil {
		return scrub(s)
	}
	var b strings.Builder
	last := 0
	for _, m := range ids {
		b.WriteString(scrub(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(scrub(s[last:]))
	return b.String()
}

// ourID is an id this system makes: a UUIDv7 in its canonical lower-case
// form, standing alone.
var ourID = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b`)

func scrubRuns(s string) string {
	for range 8 { // overlapping matches: each pass masks the ones the last left
		out := ssnShaped.ReplaceAllString(s, "${1}***-**-${4}${5}")
		if out == s {
			break
		}
		s = out
	}
	return s
}

// HoldsSSN reports whether s holds an SSN shape ScrubSSN would mask.
func HoldsSSN(s string) bool {
	return mayHoldSSN(s) && ssnShaped.MatchString(s)
}

// ScrubSensitive masks SSN-shaped and date-shaped values: for cells whose
// column is unknown (a ragged row, a data row taken for a header), where a
// date may be a date of birth.
func ScrubSensitive(s string) string {
	return outsideOurIDs(ScrubSSN(s), maskDates)
}

// ScrubOutcome masks every SSN-shaped value in the cells of an ack line
// that can echo input, whatever the column: the record_id, employer_id,
// employee_id and action as sent, and the message that may quote them.
// It is done once, where a line is stored, so what is regenerated from
// the ledger is what was first sent; the codes, line and amount are ours.
func ScrubOutcome(o Outcome) Outcome {
	o.RecordID, o.EmployerID, o.EmployeeID = ScrubSSN(o.RecordID), ScrubSSN(o.EmployerID), ScrubSSN(o.EmployeeID)
	o.Action, o.Message = ScrubSSN(o.Action), ScrubSSN(o.Message)
	return o
}

// mayHoldSSN reports whether s may hold an SSN shape, so that the costly
// regexp is skipped for most text: names, dates, UUIDs, phone numbers,
// ten-digit ids. FuzzScrubSSN holds it to never missing a shape the
// regexp finds. A first pass looks for nine digits in one run of digits
// and separators, at little more than a byte compare a byte; only text
// that has them, or is not ASCII, is looked at closer (inSegments).
func mayHoldSSN(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n++; n >= 9 {
				return inSegments(s)
			}
		case c == '-' || c == ' ' || c == '.' || c == '/' || c == '_':
		default:
			if c >= utf8.RuneSelf { // maybe a full-width digit or a separator
				return inSegments(s)
			}
			n = 0
		}
	}
	return false
}

// inSegments reports whether s has whole segments of digits (runs of
// digits between non-digits), one after another with only separators
// between them, that hold nine digits together. Every SSN shape is such
// segments: a digit next to it would spoil it. A ten-digit number is not.
func inSegments(s string) bool {
	seg := 0      // digits in the segment being read
	var sums uint // bit k set: the segments ending with the last one can hold k digits together
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			seg++
			continue
		}
		sep := c < utf8.RuneSelf && ssnASCIISep[c]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size - 1
			if r >= '０' && r <= '９' {
				seg++
				continue
			}
			sep = strings.ContainsRune(ssnSeparators, r)
		}
		if seg > 0 { // a segment ends: it alone, or with those before it
			if sums = (sums | 1) << seg & nineOrFewer; sums&(1<<9) != 0 {
				return true
			}
			seg = 0
		}
		if !sep {
			sums = 0
		}
	}
	return seg > 0 && (sums|1)<<seg&(1<<9) != 0
}

// nineOrFewer keeps the counts of nine digits or fewer (bits 0 to 9); a
// shift past it, even by more than the word's width, leaves none.
const nineOrFewer = 1<<10 - 1

// ssnASCIISep marks the ASCII separators of ssnSeparators.
var ssnASCIISep = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = strings.ContainsRune(ssnSeparators, rune(c))
	}
	return t
}()
