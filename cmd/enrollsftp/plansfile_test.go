package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run and serve read and check the configured plans file before they open
// the ledger: a mistake in it names the file and the line, exit 2, and
// leaves no ledger and no SSN key behind.
func TestBrokenPlansFileCreatesNothing(t *testing.T) {
	for _, args := range [][]string{{"run"}, {"serve", "--http", "127.0.0.1:0"}} {
		t.Run(args[0], func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"config.yaml": `ledger: var/ledger.db
staging: var/staging
plans: plans.yaml
sources:
  - name: demo
    schedule: "0 2 * * *"
    sftp: {embedded: drop}
    inbound: /inbound
    outbound: /outbound
    archive: /archive
`,
				"plans.yaml":         "employers:\n  - id: ACME\n    pay_frequency: WEEKLY\n    plan_years:\n      - {id: Y1, start: 2026-01-01, enrollment_start: 2025-11-01, enrollment_end: 2025-12-15}\n",
				"drop/inbound/.keep": "",
			})
			code, _, stderr := runInProcess(t, dir, args...)
			want := "enrollsftp: plans " + filepath.Join(dir, "plans.yaml") +
				": employers[0].plan_years[0].end: line 5: end date missing (want YYYY-MM-DD)\n"
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				stderr = strings.ReplaceAll(stderr, real, dir)
			}
			if code != exitUsage || stderr != want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and:\n%s", code, stderr, want)
			}
			for _, p := range []string{"var/ledger.db", "var/ledger.db.key", "var"} {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s was created", p)
				}
			}
		})
	}
}
