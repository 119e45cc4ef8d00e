package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The commands that only read make nothing where there is no ledger:
// not the default var/ledger.db, its folder, nor an SSN key beside it.
// (TestReadOnlyCommandsNeedALedger checks the same with --ledger.)
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	for _, args := range [][]string{
		{"batches"},
		{"batches", "--json"},
		{"batch", "show", "b1"},
		{"ack", "b1", "--out", "out"},
		{"lookup", "--person", "p1"},
		{"lookup", "--employer", "ACME", "--employee", "1"},
		// They write, but only to what is there: a missing ledger is a
		// wrong --ledger or config, not one to make with a new key.
		{"rerun", "0123abcd"},
		{"kyc", "approve", "--person", "p1", "--reason", "checked the passport"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := runInProcess(t, dir, args...)
			if code != exitUsage || !strings.Contains(stderr, "no ledger at ") || !strings.Contains(stderr, filepath.Join("var", "ledger.db")) {
				t.Errorf("exit %d, stderr %q; want 2 saying there is no ledger", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q, want nothing", stdout)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("created %v", names(t, dir))
			}
		})
	}
}

// run and serve do nothing without a config file, and say where they
// looked for one rather than that "the config has no sources".
func TestRunNeedsAConfigFile(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string // on stderr, after the folder's path is replaced by DIR
	}{
		{"no config.yaml", nil, []string{"run"},
			"enrollsftp: run: no config file found: looked for DIR/config.yaml (give one with --config FILE)\n"},
		{"serve, no config.yaml", nil, []string{"serve"},
			"enrollsftp: serve: no config file found: looked for DIR/config.yaml (give one with --config FILE)\n"},
		{"--config names a missing file", nil, []string{"--config", "etc/enrollsftp.yaml", "run"},
			"enrollsftp: config: no config file at DIR/etc/enrollsftp.yaml (given by --config)\n"},
		{"--config after the command", nil, []string{"run", "--config", "nope.yaml"},
			"enrollsftp: config: no config file at DIR/nope.yaml (given by --config)\n"},
		{"a config without sources", map[string]string{"config.yaml": "ledger: l.db\n"}, []string{"run"},
			"enrollsftp: run: config config.yaml has no sources\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			code, stdout, stderr := runInProcess(t, dir, tt.args...)
			real, _ := filepath.EvalSymlinks(dir)
			stderr = strings.ReplaceAll(strings.ReplaceAll(stderr, real, "DIR"), dir, "DIR")
			if code != exitUsage || stderr != tt.want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and:\n%s", code, stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q, want nothing", stdout)
			}
			if got := names(t, dir); len(got) != len(tt.files) {
				t.Errorf("the folder holds %v, want only the config", got)
			}
		})
	}
}
