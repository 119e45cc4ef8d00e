package enrollsftp

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Host keys are always verified: no non-test Go file may even mention the
// x/crypto/ssh escape hatch.
func TestNoInsecureHostKeyCallback(t *testing.T) {
	banned := "Insecure" + "IgnoreHostKey"
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "var") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), banned) {
			t.Errorf("%s uses %s: host keys must be verified", path, banned)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("scanned only %d Go files: the walk is broken", n)
	}
}

func TestMasking(t *testing.T) {
	tests := []struct{ in, ssn, dob string }{
		{"123-45-6789", "***-**-6789", "****-**-**"},
		{"123456789", "***-**-6789", "****-**-**"},
		{"12345", "***-**-****", "****-**-**"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := MaskSSN(tt.in); got != tt.ssn {
			t.Errorf("MaskSSN(%q) = %q, want %q", tt.in, got, tt.ssn)
		}
		if got := MaskDOB(tt.in); got != tt.dob {
			t.Errorf("MaskDOB(%q) = %q, want %q", tt.in, got, tt.dob)
		}
	}
	for _, c := range []string{"=1", "+1", "-1", "@x", "\tx", "\rx"} {
		if got := NeutralizeCell(c); got != "'"+c {
			t.Errorf("NeutralizeCell(%q) = %q", c, got)
		}
	}
	if got := NeutralizeCell("plain"); got != "plain" {
		t.Errorf("NeutralizeCell changed a plain cell: %q", got)
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, ssn, all string }{
		{"123-45-6789", "***-**-6789", "***-**-6789"},
		{"id 123456789 here", "id ***-**-6789 here", "id ***-**-6789 here"},
		{"123 45 6789", "***-**-6789", "***-**-6789"},
		{"6175550101", "6175550101", "6175550101"}, // ten digits: a phone, not an SSN
		{"02134", "02134", "02134"},                // a ZIP
		{"123-45-6789,987-65-4321", "***-**-6789,***-**-4321", "***-**-6789,***-**-4321"},
		{"born 1980-04-12", "born 1980-04-12", "born ****-**-**"},
		{"04/12/1980", "04/12/1980", "****-**-**"},
		// Dates in the shapes a person types (a reviewer found these in reasons).
		{"dob 19800412 confirmed", "dob 19800412 confirmed", "dob ****-**-** confirmed"},
		{"born 04121980", "born 04121980", "born ****-**-**"},
		{"born 12-Apr-1980", "born 12-Apr-1980", "born ****-**-**"},
		{"born April 12, 1980.", "born April 12, 1980.", "born ****-**-**."},
		{"born 12 April 1980", "born 12 April 1980", "born ****-**-**"},
		{"born Apr. 12th 80", "born Apr. 12th 80", "born ****-**-**"},
		{"ssn 123_45_6780", "ssn ***-**-6780", "ssn ***-**-6780"},
		// Not dates: an amount, a count, a ten-digit phone, a ZIP+4.
		{"1200.00 a year", "1200.00 a year", "1200.00 a year"},
		{"12345678 rows", "12345678 rows", "12345678 rows"},
		{"may be 5 units", "may be 5 units", "may be 5 units"},
		{"\"x\" is not an email address", "\"x\" is not an email address", "\"x\" is not an email address"},
	}
	for _, tt := range tests {
		if got := ScrubSSN(tt.in); got != tt.ssn {
			t.Errorf("ScrubSSN(%q) = %q, want %q", tt.in, got, tt.ssn)
		}
		if got := ScrubSensitive(tt.in); got != tt.all {
			t.Errorf("ScrubSensitive(%q) = %q, want %q", tt.in, got, tt.all)
		}
	}
}

// A batch id whose random part holds nine digits in a row is ours, not an
// SSN: masking it turned "duplicate of batch …" and FILE_ALREADY_PROCESSED
// messages into ids no command knows (about one id in twenty). An SSN next
// to one is still masked.
func TestScrubSSNLeavesOurIDs(t *testing.T) {
	const id = "01a22b01-e9de-7c2b-8086-123456789abc"
	tests := []struct{ in, want string }{
		{"duplicate of line 4 in batch " + id, "duplicate of line 4 in batch " + id},
		{"already applied as batch " + id + "; nothing was applied again", "already applied as batch " + id + "; nothing was applied again"},
		{"ssn 123-45-6789 in batch " + id, "ssn ***-**-6789 in batch " + id},
		{id + " 987654321", id + " ***-**-4321"},
		// Not one of ours (a v4 shape, upper case): scrubbed as any text.
		{"01a22b01-e9de-4c2b-8086-123456789abc", "01a22b01-e9de-4c2b-8086-***-**-6789abc"},
	}
	for _, tt := range tests {
		if got := ScrubSSN(tt.in); got != tt.want {
			t.Errorf("ScrubSSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// ScrubSSN skips the regexp for text mayHoldSSN rules out: no such text
// may hold an SSN shape. And what ScrubSSN gives back holds none.
func FuzzScrubSSN(f *testing.F) {
	for _, s := range []string{"123-45-6789", "12-345-678", "id 123456789 here", "1234 5 6789x", "02134", "", "c7a927f0-78fa-46d0-b6a6-308ef873b22a", "12 3-45 678 9",
		"123.45.6789", "123/45/6789", "123–45–6789", "123—45—6789", "１２３－４５－６７８９", "１２3\u00a045６７89",
		"2026/11/15", "11.15.2026", "x１２３４５６７８９y", "12345678 9", "1 2 3 4 5 6 7 8 9",
		"1234567890-123-45-6789", "1000000001", "batch 01a22b01-e9de-7c2b-8086-123456789abc", "12301a22b01-e9de-7c2b-8086-123456789abc45-6789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !mayHoldSSN(s) && ssnShaped.MatchString(s) {
			t.Fatalf("%q has an SSN shape mayHoldSSN missed", s)
		}
		// Our own ids are left whole (TestScrubSSNLeavesOurIDs): the rest
		// of the text must hold no shape.
		if out := ScrubSSN(s); ssnShaped.MatchString(ourID.ReplaceAllString(out, "x")) {
			t.Fatalf("ScrubSSN(%q) = %q still holds an SSN shape", s, out)
		}
	})
}
