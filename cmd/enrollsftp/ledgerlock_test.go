package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// start runs the binary in the background with extra environment.
func (c *cli) start(env []string, args ...string) (*exec.Cmd, *syncBuffer) {
	c.t.Helper()
	full := append([]string{"--ledger", "ledger.db", "--now", c.now}, args...)
	cmd := exec.Command(c.bin, full...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), env...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &out
}

// timed runs the binary and returns its exit code, output and duration.
func (c *cli) timed(args ...string) (int, string, time.Duration) {
	c.t.Helper()
	full := append([]string{"--ledger", "ledger.db", "--now", c.now}, args...)
	cmd := exec.Command(c.bin, full...)
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return code, out.String(), took
}

// stopped reports whether a process is stopped (SIGSTOP).
func stopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE …: comm may hold spaces, the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'T'
}

// While one `process` is stopped inside its write transaction (holding
// SQLite's write lock and the write lock file): the read-only commands
// answer at once, a `process` with a short --lock-wait fails with exit 1
// naming the holder, and one with a long wait queues and succeeds once the
// writer commits.
func TestReadersAndWritersWhileAWriterHoldsTheLedger(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to see the writer stopped")
	}
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	data, _ := filepath.Abs("../../testdata")
	c.run(0, "plans", "load", filepath.Join(data, "plans.yaml"))
	c.run(0, "process", "--type", "census", filepath.Join(data, "e2e", "census_acme_20261115.csv"))
	var before []map[string]any
	jsonUnmarshal(c.run(0, "batches", "--json"), &before)
	c.run(0, "gen", "--type", "census", "--rows", "200", "--seed", "1", "--out", "a.csv")
	c.run(0, "gen", "--type", "census", "--rows", "200", "--seed", "2", "--out", "b.csv")

	writer, wout := c.start([]string{"ENROLLSFTP_FAILPOINT=mid-apply@5:stop"}, "process", "--type", "census", "a.csv")
	waitFor(t, 20*time.Second, "the writer to stop mid-apply", func() bool { return stopped(writer.Process.Pid) })

	// (a) Readers: no wait, no migration, no "database is locked".
	for _, args := range [][]string{
		{"batches", "--json"},
		{"batch", "show", before[0]["batch_id"].(string)},
		{"ack", before[0]["batch_id"].(string), "--out", "acks"},
		{"lookup", "--employer", "ACME", "--employee", "E001", "--json"},
	} {
		code, out, took := c.timed(args...)
		if code != 0 || took > 3*time.Second {
			t.Errorf("%s while a writer holds the ledger: exit %d after %v, want 0 at once\n%s", args[0], code, took, out)
		}
	}

	// (c) A writer that may wait 300ms gives up with exit 1, naming the holder.
	code, out, took := c.timed("--lock-wait", "300ms", "process", "--type", "census", "b.csv")
	holder := fmt.Sprintf("pid %d on ", writer.Process.Pid)
	if code != 1 || !strings.Contains(out, holder) || !strings.Contains(out, "(process, since ") {
		t.Errorf("process with --lock-wait 300ms: exit %d after %v, want 1 naming %q (process, since …)\n%s", code, took, holder, out)
	}
	if took < 300*time.Millisecond {
		t.Errorf("process gave up after %v, before its --lock-wait of 300ms", took)
	}

	// (b) A writer that may wait longer queues, and goes once the first commits.
	queued, qout := c.start(nil, "--lock-wait", "30s", "process", "--type", "census", "b.csv")
	time.Sleep(300 * time.Millisecond)
	if s := qout.String(); strings.Contains(s, "wrote") || strings.Contains(s, "enrollsftp:") {
		t.Fatalf("the second process did not wait for the first:\n%s", qout.String())
	}
	writer.Process.Signal(syscall.SIGCONT)
	if err := writer.Wait(); err != nil {
		t.Fatalf("the first process after SIGCONT: %v\n%s", err, wout.String())
	}
	if err := queued.Wait(); err != nil {
		t.Fatalf("the queued process: %v\n%s", err, qout.String())
	}
	var after []map[string]any
	jsonUnmarshal(c.run(0, "batches", "--json"), &after)
	if len(after) != 3 {
		t.Fatalf("got %d batches, want 3 (no FAILED batch for the process that gave up)", len(after))
	}
	for _, b := range after {
		if b["status"] != "APPLIED" {
			t.Errorf("batch %v is %v, want APPLIED", b["file"], b["status"])
		}
	}
}

// A read-only command creates no ledger (and no key) where there is none:
// it says so, exit 2.
func TestReadOnlyCommandsNeedALedger(t *testing.T) {
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	for _, args := range [][]string{
		{"batches"},
		{"batch", "show", "b1"},
		{"ack", "b1"},
		{"lookup", "--person", "p1"},
	} {
		code, out, _ := c.timed(args...)
		if code != 2 || !strings.Contains(out, "no ledger at") {
			t.Errorf("%s without a ledger: exit %d, want 2 saying there is no ledger\n%s", args[0], code, out)
		}
	}
	if ents, _ := os.ReadDir(c.dir); len(ents) != 0 {
		t.Errorf("read-only commands created %v", ents)
	}
}
