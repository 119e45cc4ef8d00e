package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cli runs the built binary in a working folder with a fixed clock.
type cli struct {
	t      *testing.T
	bin    string
	dir    string
	now    string
	config string       // --config, when set
	logs   bytes.Buffer // every stderr line, to check for PII
}

// binDir holds the binary built once for the package's tests.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "enrollsftp-bin-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// buildBinary builds the command once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "enrollsftp")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func (c *cli) run(wantCode int, args ...string) string {
	c.t.Helper()
	full := append([]string{"--ledger", "ledger.db", "--now", c.now}, args...)
	if c.config != "" {
		full = append([]string{"--config", c.config}, full...)
	}
	cmd := exec.Command(c.bin, full...)
	cmd.Dir = c.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run %v: %v", args, err)
	}
	c.logs.Write(stderr.Bytes())
	if code != wantCode {
		c.t.Fatalf("enrollsftp %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode,
			stdout.String(), stderr.String())
	}
	return stdout.String()
}

func (c *cli) lookup(employer, employee string) map[string]any {
	c.t.Helper()
	var p map[string]any
	if err := json.Unmarshal([]byte(c.run(0, "lookup", "--employer", employer, "--employee", employee, "--json")), &p); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func enrollments(p map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range p["enrollments"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ackStatus(t *testing.T, ack, recordID string) string {
	t.Helper()
	for _, line := range strings.Split(ack, "\n") {
		f := strings.Split(line, ",")
		if len(f) > 5 && f[1] == recordID {
			return f[5]
		}
	}
	t.Fatalf("no ack row for %s in\n%s", recordID, ack)
	return ""
}

// TestEndToEnd drives the commands a vendor drop and an operator go
// through, over the files in testdata/e2e, against the built binary.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	data, _ := filepath.Abs("../../testdata")
	e2e := func(name string) string { return filepath.Join(data, "e2e", name) }

	c.run(0, "plans", "load", filepath.Join(data, "plans.yaml"))

	// A dry run writes outputs and changes nothing.
	out := c.run(0, "process", "--type", "census", "--dry-run", "--out", "dry", e2e("census_acme_20261115.csv"))
	if !strings.Contains(out, "dry run") {
		t.Errorf("dry run output does not say so:\n%s", out)
	}
	if got := c.run(0, "batches", "--json"); strings.TrimSpace(got) != "[]" {
		t.Fatalf("dry run stored a batch: %s", got)
	}
	c.run(1, "lookup", "--employer", "ACME", "--employee", "E001")

	// Census, then elections: enroll, pending KYC.
	c.run(0, "process", "--type", "census", e2e("census_acme_20261115.csv"))
	c.run(0, "process", "--type", "elections", e2e("elections_acme_20261115.csv"))
	ack := readFile(t, filepath.Join(c.dir, "out", "elections_acme_20261115.ack.csv"))
	for id, want := range map[string]string{"L-1": "ACCEPTED", "L-3": "PENDING_KYC", "L-4": "REJECTED", "L-6": "REJECTED"} {
		if got := ackStatus(t, ack, id); got != want {
			t.Errorf("%s: got %s, want %s", id, got, want)
		}
	}

	// KYC approval applies the pending HSA enrollment.
	p := c.lookup("ACME", "E003")
	if en := enrollments(p)[0]; en["status"] != "PENDING_KYC" || p["kyc"].(map[string]any)["status"] != "FAILED" {
		t.Fatalf("E003 before approval: %v", p)
	}
	c.run(0, "kyc", "approve", "--person", p["person_id"].(string), "--reason", "passport checked")
	if en := enrollments(c.lookup("ACME", "E003"))[0]; en["status"] != "ACTIVE" {
		t.Errorf("E003 after approval: %v", en["status"])
	}

	// HSA transfer to another employer keeps the account.
	c.run(0, "process", "--type", "census", e2e("census_globex_20261116.csv"))
	c.run(0, "process", "--type", "elections", e2e("elections_transfer_20261116.csv"))
	ens := enrollments(c.lookup("GLOBEX", "G001"))
	if len(ens) != 2 || ens[0]["status"] != "TRANSFERRED" || ens[1]["status"] != "ACTIVE" ||
		ens[0]["account_id"] != ens[1]["account_id"] || ens[1]["employer_id"] != "GLOBEX" {
		t.Errorf("after transfer: %v", ens)
	}

	// Termination ends the FSA.
	c.run(0, "process", "--type", "census", e2e("census_acme_term_20261117.csv"))
	if en := enrollments(c.lookup("ACME", "E006"))[0]; en["status"] != "TERMINATED" || en["end_date"] != "2026-09-30" {
		t.Errorf("after termination: %v", en)
	}

	// A resend with one new row: applied rows are DUPLICATE, nothing twice.
	c.run(0, "process", "--type", "census", e2e("census_acme_resend_20261118.csv"))
	ack = readFile(t, filepath.Join(c.dir, "out", "census_acme_resend_20261118.ack.csv"))
	for id, want := range map[string]string{"C-2": "DUPLICATE", "C-9": "ACCEPTED", "C-5": "REJECTED"} {
		if got := ackStatus(t, ack, id); got != want {
			t.Errorf("resend %s: got %s, want %s", id, got, want)
		}
	}

	// A mostly rejected file is HELD (exit 3) and applies only on rerun --force.
	c.run(3, "process", "--type", "elections", "--max-reject-ratio", "0.5", e2e("elections_mostly_bad_20261119.csv"))
	var held []struct {
		BatchID string `json:"batch_id"`
	}
	jsonUnmarshal(c.run(0, "batches", "--status", "HELD", "--json"), &held)
	if len(held) != 1 {
		t.Fatalf("HELD batches: got %d, want 1", len(held))
	}
	if n := len(enrollments(c.lookup("ACME", "E009"))); n != 0 {
		t.Fatalf("a HELD batch applied %d enrollments", n)
	}
	c.run(2, "rerun", held[0].BatchID)
	c.run(0, "rerun", held[0].BatchID, "--force", "--reason", "vendor confirmed the rows")
	if n := len(enrollments(c.lookup("ACME", "E009"))); n != 1 {
		t.Errorf("after rerun --force: %d enrollments, want 1", n)
	}

	// The same bytes again are refused: exit 3, nothing changes.
	before := c.run(0, "batches", "--json")
	c.run(3, "process", "--type", "census", e2e("census_acme_20261115.csv"))
	if after := c.run(0, "batches", "--json"); after != before {
		t.Error("a refused file changed the batch list")
	}
	// A file-level rejection exits 3; usage errors exit 2.
	c.run(3, "process", "--type", "census", e2e("census_bad_header.csv"))
	c.run(2, "process", "--type", "nonsense", e2e("census_bad_header.csv"))
	c.run(2, "frobnicate")

	// Every batch's outputs regenerate byte for byte, months later.
	var batches []struct {
		BatchID      string `json:"batch_id"`
		File         string `json:"file"`
		SupersededBy string `json:"superseded_by"`
	}
	if err := json.Unmarshal([]byte(c.run(0, "batches", "--json")), &batches); err != nil {
		t.Fatal(err)
	}
	c.now = "2027-03-01T00:00:00Z"
	for _, b := range batches {
		if b.SupersededBy != "" {
			continue // its rerun wrote the outputs of that name
		}
		c.run(0, "ack", b.BatchID, "--out", "regen")
		base := strings.TrimSuffix(b.File, ".csv")
		for _, suffix := range []string{".ack.csv", ".ack.json", ".errors.csv"} {
			orig, err := os.ReadFile(filepath.Join(c.dir, "out", base+suffix))
			if os.IsNotExist(err) {
				continue
			}
			if regen := readFile(t, filepath.Join(c.dir, "regen", base+suffix)); string(orig) != regen {
				t.Errorf("%s%s regenerated differently", base, suffix)
			}
		}
	}
	out = c.run(0, "batch", "show", batches[0].BatchID, "--json")
	if !strings.Contains(out, `"INVALID_SSN": 1`) {
		t.Errorf("batch show lacks counts per code:\n%s", out)
	}

	// No full SSN or DOB in any output or log line.
	secrets := regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b|\b\d{9}\b|19[0-9]{2}-[01][0-9]-[0-3][0-9]`)
	filepath.Walk(c.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".csv") && !strings.HasSuffix(path, ".json") {
			return nil
		}
		if strings.Contains(path, filepath.Join("var", "staging")) {
			// Staged inputs, kept for reruns: private, and encrypted at
			// rest, so they are scanned like the outputs.
			if info.Mode().Perm() != 0o600 {
				t.Errorf("staged %s has mode %v, want 0600", path, info.Mode().Perm())
			}
		}
		if m := secrets.FindString(readFile(t, path)); m != "" {
			t.Errorf("%s contains %q", path, m)
		}
		return nil
	})
	if m := secrets.FindString(c.logs.String()); m != "" {
		t.Errorf("logs contain %q", m)
	}
}
