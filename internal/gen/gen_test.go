package gen

import (
	"bytes"
	"strings"
	"testing"

	"enrollsftp/validate"
)

func TestDeterministicAndValid(t *testing.T) {
	var a, b, c bytes.Buffer
	Census(&a, 500, 7)
	Census(&b, 500, 7)
	Census(&c, 500, 8)
	if a.String() != b.String() {
		t.Fatal("the same seed gave different files")
	}
	if a.String() == c.String() {
		t.Fatal("different seeds gave the same file")
	}
	if n := strings.Count(a.String(), "\n"); n != 501 {
		t.Fatalf("got %d lines, want 501", n)
	}
	seen := map[string]bool{}
	for i := range 2_000_000 {
		s := ssn(i)
		if _, err := validate.SSN(s); err != nil || seen[s] {
			t.Fatalf("ssn(%d) = %s: invalid or repeated", i, s)
		}
		seen[s] = true
	}
}
