package main

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"enrollsftp/internal/failpoint"
)

// crashEnv is one world: a ledger and an embedded source seeded with the
// demo drop, with a fixed clock and SSN key so two worlds can be compared.
type crashEnv struct {
	t   *testing.T
	bin string
	dir string
}

var crashKey = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))

func newCrashEnv(t *testing.T, bin string) *crashEnv {
	t.Helper()
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed", "inbound")
	os.MkdirAll(seed, 0o700)
	for _, f := range []string{"census_demo_20261115.csv", "elections_demo_20261115.csv"} {
		os.WriteFile(filepath.Join(seed, f), demoFile(t, f), 0o600)
	}
	plans, _ := filepath.Abs("../../testdata/plans.yaml")
	cfg := fmt.Sprintf(`ledger: ledger.db
staging: staging
plans: %s
sources:
  - name: demo
    sftp: {embedded: seed}
    inbound: /inbound
    outbound: /outbound
    archive: /archive
    min_file_age: 0s
    employers: [ACME, GLOBEX]
`, plans)
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600)
	return &crashEnv{t: t, bin: bin, dir: dir}
}

// run runs `enrollsftp run`, armed with a failpoint or not, and reports
// whether the process was killed.
func (e *crashEnv) run(point string) (killed bool, out string) {
	e.t.Helper()
	cmd := exec.Command(e.bin, "--config", "config.yaml", "--now", "2026-11-15T02:00:00Z", "run")
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "ENROLLSFTP_KEY="+crashKey, "ENROLLSFTP_FAILPOINT="+point)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, string(b)
		}
		e.t.Fatalf("run (failpoint %q): %v\n%s", point, err, b)
	}
	return false, string(b)
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// state is a canonical picture of a world: every ledger table, row by row
// (ids made random per run replaced, rows sorted), the delivered outputs
// byte for byte (ids replaced), and the names in inbound and archive.
func (e *crashEnv) state() string {
	e.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(e.dir, "ledger.db")+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	tables := []string{"employers", "plan_years", "plans", "persons", "employments", "accounts", "enrollments",
		"elections", "kyc_verifications", "batches", "batch_records", "applied_records", "audit_events"}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			e.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			cells := make([]string, len(cols))
			for i, v := range vals {
				switch x := v.(type) {
				case []byte:
					if cols[i] == "ssn_enc" {
						cells[i] = fmt.Sprintf("<sealed %d bytes>", len(x)) // a random nonce each time
					} else {
						cells[i] = fmt.Sprintf("%x", x)
					}
				default:
					cells[i] = fmt.Sprint(x)
				}
				if strings.HasSuffix(cols[i], "staged_path") {
					cells[i] = filepath.Base(cells[i])
				}
			}
			lines = append(lines, uuidPattern.ReplaceAllString(strings.Join(cells, "|"), "<id>"))
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "== %s (%d)\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	work := filepath.Join(e.dir, "staging", "embedded", "demo")
	for _, folder := range []string{"inbound", "archive", "outbound"} {
		entries, _ := os.ReadDir(filepath.Join(work, folder))
		for _, en := range entries {
			fmt.Fprintf(&b, "%s/%s\n", folder, en.Name())
			if folder == "outbound" {
				body, _ := os.ReadFile(filepath.Join(work, folder, en.Name()))
				b.WriteString(uuidPattern.ReplaceAllString(string(body), "<id>"))
			}
		}
	}
	return b.String()
}

// TestCrashAtEveryStep kills `run` at each failpoint, runs it again, and
// checks the ledger, the delivered outputs and the archive equal those of
// an uninterrupted run: nothing lost, nothing applied twice.
func TestCrashAtEveryStep(t *testing.T) {
	bin := sftpBinary(t)
	ref := newCrashEnv(t, bin)
	if killed, out := ref.run(""); killed {
		t.Fatalf("the reference run was killed:\n%s", out)
	}
	want := ref.state()
	if !strings.Contains(want, "== batches (2)") || !strings.Contains(want, "archive/elections_demo_20261115.csv") {
		t.Fatalf("reference run incomplete:\n%s", want)
	}
	points := []string{failpoint.MidDownload, failpoint.MidParse + "@3", failpoint.MidApply + "@2",
		failpoint.BeforeCommit, failpoint.AfterCommit, failpoint.MidUpload, failpoint.BeforeArchive,
		// The same points on the second file, after the first is through.
		failpoint.MidApply + "@8", failpoint.AfterCommit + "@2", failpoint.BeforeArchive + "@2"}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			e := newCrashEnv(t, bin)
			e.t = t
			if killed, out := e.run(point); !killed {
				t.Fatalf("failpoint %s was never hit:\n%s", point, out)
			}
			if killed, out := e.run(""); killed {
				t.Fatalf("the run after the crash was killed:\n%s", out)
			}
			got := e.state()
			if got != want {
				t.Errorf("after a crash at %s the world differs from an uninterrupted run:\n%s", point, diffLines(want, got))
			}
		})
	}
}

// diffLines lists the lines only in want (-) or only in got (+).
func diffLines(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var out []string
	for l, n := range count {
		switch {
		case n > 0:
			out = append(out, "- "+l)
		case n < 0:
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	if len(out) > 40 {
		out = append(out[:40], "…")
	}
	return strings.Join(out, "\n")
}
