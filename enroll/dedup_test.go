package enroll

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/kyc"
)

// TestLineSet checks the fingerprint table through its growth: every key
// added is a candidate with its own line.
func TestLineSet(t *testing.T) {
	s := newLineSet()
	want := map[string]int{}
	for i := 1; i <= 50_000; i++ {
		k := fmt.Sprintf("ACME\x1fkey-%d", i*7)
		s.add(k, i+1)
		want[k] = i + 1
	}
	if s.n != len(want) || len(s.slots)*3 < s.n*4 {
		t.Fatalf("n %d in %d slots", s.n, len(s.slots))
	}
	for k, line := range want {
		found := false
		if err := s.candidates(k, func(l int) (bool, error) { found = l == line; return found, nil }); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Fatalf("%q: line %d is not a candidate", k, line)
		}
	}
}

// TestInFileDuplicatesWhenFingerprintsCollide: a fingerprint is only a
// candidate; with every key's fingerprint the same, exactly the rows
// repeating an earlier row's key are DUPLICATE_RECORD_IN_FILE, each naming
// the first line of its key, whether that line is still buffered or
// already written.
func TestInFileDuplicatesWhenFingerprintsCollide(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprint("collide=", collide), func(t *testing.T) {
			ctx := context.Background()
			l, err := Open(ctx, filepath.Join(t.TempDir(), "l.db"), testKeys(t), kyc.Rules{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if collide {
				newLineSetHook = func(s *lineSet) { s.fp = func(string) uint32 { return 7 } }
				defer func() { newLineSetHook = nil }()
			}
			// 300 rows (more than a bulk statement), ids R0..R99 each
			// three times: lines 2..101 first, then twice again.
			const n = 300
			i := 0
			rows := func() (Record, error) {
				if i == n {
					return Record{}, io.EOF
				}
				id := fmt.Sprintf("R%d", i%100)
				i++
				return Record{Line: i + 1, RecordID: id, EmployerID: "ACME", EmployeeID: id, Action: "UPSERT",
					ContentHash: id, Errors: enrollsftp.Errors{enrollsftp.Errorf(enrollsftp.RequiredFieldMissing, "x", "x")}}, nil
			}
			var got []enrollsftp.Outcome
			_, err = l.Process(ctx, File{Name: "f.csv", Type: enrollsftp.Census, SHA256: "f", ReceivedAt: time.Now()}, rows,
				func(v View) error {
					return v.Each(func(o enrollsftp.Outcome) error { got = append(got, o); return nil })
				})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d outcomes, want %d", len(got), n)
			}
			for k, o := range got {
				first := 2 + k%100
				dup := k >= 100
				msg := fmt.Sprintf("R%d already appears on line %d", k%100, first)
				if hasCode(o.Codes, enrollsftp.DuplicateRecordInFile) != dup || dup && !strings.Contains(o.Message, msg) {
					t.Errorf("line %d: %s %q, want duplicate=%v (%s)", o.Line, o.Codes, o.Message, dup, msg)
				}
			}
		})
	}
}

func hasCode(codes string, c enrollsftp.Code) bool { return strings.Contains(codes, string(c)) }

// TestDedupKeyStoredShort: a long in-file duplicate key is stored as its
// hash, the same for the same key and different for another; a short one
// (an employer and a record_id) as it is.
func TestDedupKeyStoredShort(t *testing.T) {
	short := "ACME\x1fC12345"
	long := "ACME\x1fc:E12345\x1f" + strings.Repeat("ab", 32)
	other := "ACME\x1fc:E12345\x1f" + strings.Repeat("ba", 32)
	if got := dedupKey(short); got != short {
		t.Errorf("dedupKey(%q) = %q, want it as it is", short, got)
	}
	a, b, c := dedupKey(long), dedupKey(long), dedupKey(other)
	if a != b || a == c || len(a) != 45 || !strings.HasPrefix(a, "h:") {
		t.Errorf("dedupKey: %q %q %q, want one stable 45-character h: form per key", a, b, c)
	}
}
