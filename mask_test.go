package enrollsftp

import (
	"strings"
	"testing"
)

func TestNeutralizeCell(t *testing.T) {
	tests := []struct {
		name, in string
		guard    bool
	}{
		{"equals", "=1+1", true},
		{"plus", "+1", true},
		{"minus", "-1", true},
		{"negative number", "-5", true},
		{"at", "@SUM(A1)", true},
		{"tab", "\tx", true},
		{"CR", "\rx", true},
		{"space before equals", " =1", true},
		{"spaces and tab before at", "  \t@x", true},
		{"newline before plus", "\n+1", true},
		{"NBSP before equals", "\u00a0=HYPERLINK(\"http://x\")", true},
		{"zero-width space before equals", "\u200b=1", true},
		{"ZWNJ before minus", "\u200c-1", true},
		{"ZWJ before plus", "\u200d+1", true},
		{"word joiner before at", "\u2060@x", true},
		{"BOM before equals", "\ufeff=1", true},
		{"soft hyphen before equals", "\u00ad=1", true},
		{"LRM before equals", "\u200e=1", true},
		{"ideographic space before equals", "\u3000=1", true},
		{"Hangul filler before equals", "\u3164=1", true},
		{"control character before equals", "\x01=1", true},
		{"several invisibles", "\u200b\u00a0 \ufeff=1", true},
		{"full-width equals", "＝1+1", true},
		{"full-width plus", "＋1", true},
		{"full-width minus", "－1", true},
		{"full-width at", "＠x", true},
		{"small equals", "﹦1", true},
		{"NBSP before full-width equals", "\u00a0＝1", true},
		{"plain", "plain", false},
		{"digits", "1300.00", false},
		{"empty", "", false},
		{"only spaces", "   ", false},
		{"space then text", " Main St", false},
		{"NBSP then text", "\u00a0x=1", false},
		{"equals later", "a=1", false},
		{"accented", "Zoë", false},
		{"CJK", "名前", false},
		{"already guarded", "'=1", false},
		{"invalid UTF-8", "\xff=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NeutralizeCell(tt.in)
			want := tt.in
			if tt.guard {
				want = "'" + tt.in
			}
			if got != want {
				t.Errorf("NeutralizeCell(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestScrubSpellings(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"dots", "123.45.6789", "***-**-6789"},
		{"slashes", "id 123/45/6789.", "id ***-**-6789."},
		{"en dashes", "123–45–6789", "***-**-6789"},
		{"em dashes", "call 123—45—6789", "call ***-**-6789"},
		{"minus signs", "123−45−6789", "***-**-6789"},
		{"NBSP", "123\u00a045\u00a06789", "***-**-6789"},
		{"full-width digits", "１２３４５６７８９", "***-**-６７８９"},
		{"full-width digits and hyphens", "x １２３－４５－６７８９ y", "x ***-**-６７８９ y"},
		{"ASCII digits, full-width hyphens", "123－45－6789", "***-**-6789"},
		{"mixed digits", "１２3-45-678９", "***-**-678９"},
		{"mixed separators", "123.45-6789", "***-**-6789"},
		{"in an action cell", "ENROLL 123-45-6789", "ENROLL ***-**-6789"},
		{"two", "123.45.6789/987–65–4321", "***-**-6789/***-**-4321"},
		{"ISO date", "2026-11-15", "2026-11-15"},
		{"slashed date", "2026/11/15", "2026/11/15"},
		{"US date", "11/15/2026", "11/15/2026"},
		{"dotted date", "11.15.2026", "11.15.2026"},
		{"European date", "15.11.2026", "15.11.2026"},
		{"full-width date", "２０２６－１１－１５", "２０２６－１１－１５"},
		{"date and time", "2026/11/15 0200", "2026/11/15 0200"},
		{"date range", "11/15/2026-12/31/2026", "11/15/2026-12/31/2026"},
		{"phone", "617.555.0101", "617.555.0101"},
		{"amount", "1234567.89", "1234567.89"},
		{"ten full-width digits", "１２３４５６７８９０", "１２３４５６７８９０"},
		{"en dash range", "pages 12–45", "pages 12–45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScrubSSN(tt.in); got != tt.want {
				t.Errorf("ScrubSSN(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Every separator mayHoldSSN lets a run go on through is one the regexp
// takes between groups, and the other way round.
func TestSSNSeparatorsAgree(t *testing.T) {
	for _, r := range ssnSeparators {
		s := "123" + string(r) + "45" + string(r) + "6789"
		if !mayHoldSSN(s) || !ssnShaped.MatchString(s) {
			t.Errorf("separator %U: mayHoldSSN %v, regexp %v", r, mayHoldSSN(s), ssnShaped.MatchString(s))
		}
	}
	for _, r := range ",:;|\\*x\u200b\t" {
		s := "123" + string(r) + "45" + string(r) + "6789"
		if ssnShaped.MatchString(s) {
			t.Errorf("%q is taken for a separator", r)
		}
	}
}

func TestScrubOutcome(t *testing.T) {
	in := Outcome{Line: 2, RecordID: "123.45.6701", EmployerID: "234567802", EmployeeID: "345–67–8903",
		Action: "123-45-6789", Status: RecordRejected, Codes: "INVALID_ACTION", Message: "see ４５６－７８－９０１４",
		PerPayPeriod: "50.00", Raw: []string{"123-45-6789"}}
	got := ScrubOutcome(in)
	for _, c := range []string{got.RecordID, got.EmployerID, got.EmployeeID, got.Action, got.Message} {
		if !strings.Contains(c, "***-**-") {
			t.Errorf("cell %q is not masked: %+v", c, got)
		}
	}
	if got.Line != in.Line || got.Status != in.Status || got.Codes != in.Codes || got.PerPayPeriod != in.PerPayPeriod {
		t.Errorf("ScrubOutcome changed a cell of ours: %+v", got)
	}
	if again := ScrubOutcome(got); again.RecordID != got.RecordID || again.Message != got.Message {
		t.Errorf("masking twice changes the cells: %+v then %+v", got, again)
	}
}

// The fast path lets through only text with nine digits in whole
// segments: ids and phone numbers of ten digits skip the regexp.
func TestMayHoldSSN(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"123-45-6789", true},
		{"123456789", true},
		{"x 123 45 6789.", true},
		{"１２３－４５－６７８９", true},
		{"12345678 9", true}, // no SSN, but nine digits in whole segments
		{"1000000001", false},
		{"617-555-0101", false},
		{"6175550101", false},
		{"2026-11-15", false},
		{"c7a927f0-78fa-46d0-b6a6-308ef873b22a", false},
		{"R000123", false},
		{"12345678", false},
		{"1234567890 123", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := mayHoldSSN(tt.in); got != tt.want {
			t.Errorf("mayHoldSSN(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
