package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStagedCopiesAtRest runs the demo drop plus a file REJECTED for its
// header through `run`: every staged copy is 0600 and holds no SSN of
// the inputs and no header line. A month and a day later (--now), the
// next run deletes the copies of the APPLIED batches and keeps the
// REJECTED one; `batch show` and `rerun` say retention removed it, and
// `ack ID` still gives the outputs delivered, byte for byte.
func TestStagedCopiesAtRest(t *testing.T) {
	bin := sftpBinary(t)
	e := newCrashEnv(t, bin)
	census := demoFile(t, "census_demo_20261115.csv")
	rejected := bytes.Replace(census, []byte("employee_id"), []byte("worker"), 1)
	if err := os.WriteFile(filepath.Join(e.dir, "seed", "inbound", "census_demo_20261116.csv"), rejected, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(e.dir, "config.yaml")
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(body, "staging_retention: 720h\n"...), 0o600)
	const day1, later = "2026-11-15T02:00:00Z", "2026-12-16T02:00:00Z" // 31 days on
	c := &cli{t: t, bin: bin, dir: e.dir, config: "config.yaml", now: day1}
	c.run(0, "run")

	stage := filepath.Join(e.dir, "staging", "demo")
	var secrets []string
	for _, f := range []string{"census_demo_20261115.csv", "elections_demo_20261115.csv"} {
		in := string(demoFile(t, f))
		secrets = append(secrets, strings.SplitN(in, "\n", 2)[0])
		for _, ssn := range regexp.MustCompile(`\d{3}-\d{2}-\d{4}`).FindAllString(in, -1) {
			secrets = append(secrets, ssn, strings.ReplaceAll(ssn, "-", ""))
		}
	}
	staged := func() map[string]bool {
		entries, err := os.ReadDir(stage)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, en := range entries {
			if !en.Type().IsRegular() {
				continue
			}
			names[strings.SplitN(en.Name(), "-", 2)[1]] = true
			fi, _ := en.Info()
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("staged %s: mode %v, want 0600", en.Name(), fi.Mode().Perm())
			}
			b, _ := os.ReadFile(filepath.Join(stage, en.Name()))
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("staged %s holds %q in the clear", en.Name(), s)
				}
			}
		}
		return names
	}
	if got := staged(); len(got) != 3 {
		t.Fatalf("staged after the first run: %v, want the three inputs", got)
	}

	var list []map[string]any
	if err := jsonUnmarshal(c.run(0, "batches", "--json"), &list); err != nil || len(list) != 3 {
		t.Fatalf("batches: %v %v", list, err)
	}
	applied := batchOf(list, "census_demo_20261115.csv")
	c.now = later
	c.run(0, "run")
	got := staged()
	if got["census_demo_20261115.csv"] || got["elections_demo_20261115.csv"] || !got["census_demo_20261116.csv"] {
		t.Errorf("staged after retention: %v, want only the REJECTED census_demo_20261116.csv", got)
	}
	if out := c.run(0, "batch", "show", applied); !strings.Contains(out, "removed by staging_retention at 2026-12-16T02:00:00Z") {
		t.Errorf("batch show of a swept batch does not say so:\n%s", out)
	}
	c.logs.Reset()
	c.run(2, "rerun", applied)
	if logs := c.logs.String(); !strings.Contains(logs, "removed by staging_retention") {
		t.Errorf("rerun of a swept batch does not say so:\n%s", logs)
	}
	c.run(0, "ack", applied, "--out", "regen")
	for _, name := range []string{"census_demo_20261115.ack.csv", "census_demo_20261115.ack.json", "census_demo_20261115.errors.csv"} {
		delivered, err := os.ReadFile(filepath.Join(e.dir, "staging", "embedded", "demo", "outbound", name))
		if os.IsNotExist(err) && name == "census_demo_20261115.errors.csv" {
			continue
		}
		if regen := readFile(t, filepath.Join(e.dir, "regen", name)); err != nil || regen != string(delivered) {
			t.Errorf("%s: ack after the sweep differs from the delivered one (%v)", name, err)
		}
	}
}

// serve sweeps at the start of every pass: with a retention of one
// second, the staged copies of the applied demo files go within a few
// passes, while the daemon keeps running.
func TestServeSweepsStaging(t *testing.T) {
	bin := sftpBinary(t)
	e := newCrashEnv(t, bin)
	cfg := filepath.Join(e.dir, "config.yaml")
	body, _ := os.ReadFile(cfg)
	body = bytes.Replace(body, []byte("    min_file_age: 0s\n"), []byte("    min_file_age: 0s\n    schedule: \"* * * * * *\"\n"), 1)
	os.WriteFile(cfg, append(body, "staging_retention: 1s\n"...), 0o600)
	cmd := exec.Command(bin, "--config", "config.yaml", "serve", "--http", "127.0.0.1:0")
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "ENROLLSFTP_KEY="+crashKey)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve logs:\n%s", logs.String())
		}
	})
	stage := filepath.Join(e.dir, "staging", "demo")
	stagedFiles := func() (n int) {
		entries, _ := os.ReadDir(stage)
		for _, en := range entries {
			if en.Type().IsRegular() {
				n++
			}
		}
		return n
	}
	archive := filepath.Join(e.dir, "staging", "embedded", "demo", "archive")
	waitFor(t, 20*time.Second, "both files archived", func() bool { return len(names(t, archive)) == 2 })
	waitFor(t, 20*time.Second, "staged copies swept and recorded", func() bool {
		return stagedFiles() == 0 && strings.Contains(logs.String(), "retention: removed staged copies of applied batches")
	})
	stopServe(t, cmd, &logs)
}
