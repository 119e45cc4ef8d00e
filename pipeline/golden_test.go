package pipeline

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"enrollsftp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// uuids are random per run; goldens hold a placeholder in their place.
var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

// TestGolden processes testdata/golden/*.csv in name order into one ledger
// and compares the three outputs of each with NAME.{ack.csv,ack.json,
// errors.csv}.golden. The file name says its type (census or elections).
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("../testdata/golden/*.csv")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	sort.Strings(inputs)
	e := newEnv(t)
	for _, in := range inputs {
		name := filepath.Base(in)
		typ := enrollsftp.Census
		if strings.Contains(name, "elections") {
			typ = enrollsftp.Elections
		}
		res, err := ProcessFile(t.Context(), e.l, discard, Options{Path: in, Type: typ,
			OutDir: filepath.Join(e.dir, "out"), ReceivedAt: e.now})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, out := range []struct{ suffix, path string }{
			{".ack.csv", res.Files.Ack}, {".ack.json", res.Files.Summary}, {".errors.csv", res.Files.Errors}} {
			golden := strings.TrimSuffix(in, ".csv") + out.suffix + ".golden"
			var got []byte
			if out.path != "" {
				b, err := os.ReadFile(out.path)
				if err != nil {
					t.Fatal(err)
				}
				got = uuidRE.ReplaceAll(b, []byte("<uuid>"))
			}
			if *update {
				if got == nil {
					os.Remove(golden)
					continue
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			wantBytes, err := os.ReadFile(golden)
			if os.IsNotExist(err) && got == nil {
				continue
			}
			if err != nil {
				t.Errorf("%s: %v (run go test ./pipeline -run TestGolden -update)", filepath.Base(golden), err)
				continue
			}
			if !bytes.Equal(got, wantBytes) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", filepath.Base(golden), got, wantBytes)
			}
		}
	}
}
