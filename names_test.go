package enrollsftp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortName(t *testing.T) {
	long := strings.Repeat("a", 236) + ".csv"
	tests := []struct {
		name, in string
		same     bool   // returned unchanged
		suffix   string // kept at the end
	}{
		{"short", "census_acme_20261115.csv", true, ""},
		{"at the limit", strings.Repeat("b", MaxFileName-4) + ".csv", true, ""},
		{"236 bytes", long, false, ".csv"},
		{"250 bytes, encrypted", strings.Repeat("c", 242) + ".csv.pgp", false, ".csv.pgp"},
		{"multi-byte characters at the cut", strings.Repeat("é", 150) + ".csv", false, ".csv"},
		{"no extension", strings.Repeat("d", 300), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ShortName(tt.in)
			if tt.same {
				if got != tt.in {
					t.Fatalf("ShortName changed a name that fits: %q", got)
				}
				return
			}
			if len(got) > MaxFileName || !utf8.ValidString(got) || !strings.HasSuffix(got, tt.suffix) {
				t.Errorf("ShortName = %q (%d bytes), want ≤ %d valid UTF-8 bytes ending %q", got, len(got), MaxFileName, tt.suffix)
			}
			if ShortName(tt.in) != got {
				t.Error("ShortName is not deterministic")
			}
		})
	}
	if ShortName(long) == ShortName(strings.Repeat("a", 235)+"b.csv") {
		t.Error("two long names with the same start shorten to the same name")
	}
}
