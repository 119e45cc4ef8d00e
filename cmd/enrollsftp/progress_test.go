package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"enrollsftp/internal/gen"
)

// bigCensus writes a generated census of rows rows in dir.
func bigCensus(t *testing.T, dir string, rows int, seed uint64) string {
	t.Helper()
	path := filepath.Join(dir, "census_big_20261115.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := gen.Census(f, rows, seed); err != nil {
		t.Fatal(err)
	}
	return path
}

// openPTY opens a pseudo-terminal: what is written to tty is read from
// pt, and tty is a terminal to isatty.
func openPTY(t *testing.T) (pt, tty *os.File) {
	t.Helper()
	pt, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(pt.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(pt.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pt, tty
}

// TestProgressOffATerminal: with stderr a file, process, run and rerun
// log JSON "progress" lines (every 10 s; 1 ms here) and never draw a bar
// into it.
func TestProgressOffATerminal(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = time.Millisecond
	seed := t.TempDir()
	if err := os.Mkdir(filepath.Join(seed, "inbound"), 0o700); err != nil {
		t.Fatal(err)
	}
	bigCensus(t, filepath.Join(seed, "inbound"), 5000, 1)
	big := bigCensus(t, t.TempDir(), 5000, 2) // other bytes: run takes the first
	dir := embeddedConfig(t, seed, "")
	out := filepath.Join(dir, "out")
	held := func(t *testing.T) string { // the batch the process below holds
		_, stdout, _ := runHere(t, dir, "batches", "--status", "HELD", "--json")
		var b []struct {
			BatchID string `json:"batch_id"`
		}
		if json.Unmarshal([]byte(stdout), &b); len(b) != 1 {
			t.Fatalf("HELD batches: %s", stdout)
		}
		return b[0].BatchID
	}
	tests := []struct {
		name     string
		args     func(t *testing.T) []string
		wantCode int
		source   bool
	}{
		{"process", func(*testing.T) []string {
			return []string{"process", "--type", "census", "--out", out, "--max-reject-ratio", "0.01", big}
		}, exitRejected, false},
		{"rerun", func(t *testing.T) []string {
			return []string{"rerun", "--force", "--reason", "vendor confirmed", "--out", out, held(t)}
		}, exitOK, false},
		{"run", func(*testing.T) []string { return []string{"run"} }, exitOK, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr.log"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			args := append([]string{"--config", filepath.Join(dir, "config.yaml"), "--ledger", filepath.Join(dir, "ledger.db"),
				"--now", "2026-11-15T02:00:00Z"}, tc.args(t)...)
			code := run(context.Background(), args, io.Discard, stderr)
			logs := readFile(t, stderr.Name())
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, logs)
			}
			if strings.Contains(logs, "\r") {
				t.Errorf("a bar was drawn into a log file:\n%q", logs)
			}
			n := 0
			for _, m := range checkLogLines(t, logs) {
				if m["message"] != "progress" {
					continue
				}
				n++
				for _, k := range []string{"file", "batch_id", "bytes_read", "bytes_total", "percent", "rows", "rows_per_s"} {
					if m[k] == nil {
						t.Errorf("progress line without %s: %v", k, m)
					}
				}
				if _, ok := m["source"]; ok != tc.source {
					t.Errorf("source present %v, want %v: %v", ok, tc.source, m)
				}
			}
			if n == 0 {
				t.Errorf("no progress line:\n%s", logs)
			}
		})
	}
}

// TestProgressOnATerminal: with stderr a terminal, process draws a bar
// (percent, rows/s, time left) and logs no progress line.
func TestProgressOnATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("a file long enough for the bar to be drawn")
	}
	dir := demoConfig(t, "")
	big := bigCensus(t, dir, 40000, 1) // about a second: the bar is drawn every 250 ms
	pt, tty := openPTY(t)
	defer pt.Close()
	read := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, pt) // until the terminal's last end closes (EIO)
		read <- b.String()
	}()
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"--config", filepath.Join(dir, "config.yaml"), "--now", "2026-11-15T02:00:00Z",
		"process", "--type", "census", "--out", filepath.Join(dir, "out"), big}, &stdout, tty)
	tty.Close()
	screen := <-read
	if code != exitOK {
		t.Fatalf("process: exit %d\n%s", code, screen)
	}
	for _, want := range []string{"census_big_20261115.csv: ", "rows/s", "%", "s]"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal shows no %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "bytes_read") {
		t.Errorf("progress logged on a terminal as well as drawn:\n%s", screen)
	}
}
