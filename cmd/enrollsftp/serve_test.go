package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"enrollsftp/internal/sshdtest"
)

// waitFor polls cond every 50ms up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServe runs the daemon on a one-second schedule against OpenSSH:
// dropped files are processed, /healthz and /metrics give the right
// counts, a second serve is refused naming the first, and SIGTERM exits 0
// within 10 s.
func TestServe(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	src := sourceFor("acme", s, r)
	src.extra = "    schedule: \"* * * * * *\"\n"
	c := sftpCLI(t, bin, src)

	cmd := exec.Command(bin, "--config", c.config, "--ledger", "ledger.db", "serve", "--http", "127.0.0.1:0")
	cmd.Dir = c.dir
	var logs syncBuffer
	cmd.Stderr = &logs
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v\n%s", err, logs.String())
	}
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(line)

	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	r.drop(t, "elections_demo_20261115.csv", demoFile(t, "elections_demo_20261115.csv"))
	waitFor(t, 20*time.Second, "both files archived", func() bool { return len(names(t, r.archive)) == 2 })

	var health struct {
		Status  string
		Sources map[string]struct {
			LastResult string `json:"last_result"`
		}
	}
	waitFor(t, 5*time.Second, "a finished pass in /healthz", func() bool {
		code, body := getBody(t, "http://"+addr+"/healthz")
		json.Unmarshal([]byte(body), &health)
		return code == 200 && health.Sources["acme"].LastResult == "ok"
	})
	_, metrics := getBody(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		`enrollsftp_files_total{source="acme",status="APPLIED"} 2`,
		`enrollsftp_rows_total{source="acme",status="ACCEPTED"} 8`,
		`enrollsftp_rows_total{source="acme",status="REJECTED"} 2`,
		`enrollsftp_rows_total{source="acme",status="PENDING_KYC"} 1`,
		`enrollsftp_last_success_timestamp_seconds{source="acme"}`,
		`enrollsftp_run_duration_seconds_count{source="acme"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A second daemon on the same ledger is refused, naming the first.
	second := exec.Command(bin, "--config", c.config, "--ledger", "ledger.db", "serve", "--http", "127.0.0.1:0")
	second.Dir = c.dir
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "serve, since") || !strings.Contains(string(out), "pid ") {
		t.Errorf("second serve: %v\n%s", err, out)
	}

	// The ledger going away turns /healthz to 503.
	os.Rename(filepath.Join(c.dir, "ledger.db"), filepath.Join(c.dir, "moved.db"))
	if code, _ := getBody(t, "http://"+addr+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz without a ledger: got %d, want 503", code)
	}
	os.Rename(filepath.Join(c.dir, "moved.db"), filepath.Join(c.dir, "ledger.db"))

	stopServe(t, cmd, &logs)
	var batches []map[string]any
	jsonUnmarshal(c.run(0, "batches", "--json"), &batches)
	for _, b := range batches {
		if b["status"] != "APPLIED" {
			t.Errorf("batch left %v after the stop", b["status"])
		}
	}
}

// Two `run`s started together on one ledger process each file once.
func TestConcurrentRunsProcessEachFileOnce(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	r.drop(t, "elections_demo_20261115.csv", demoFile(t, "elections_demo_20261115.csv"))
	c := sftpCLI(t, bin, sourceFor("acme", s, r))
	var wg sync.WaitGroup
	outs := make([]string, 2)
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "--config", c.config, "--ledger", "ledger.db", "--now", c.now, "run")
			cmd.Dir = c.dir
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				codes[i] = ee.ExitCode()
			}
			outs[i] = buf.String()
		}()
	}
	wg.Wait()
	if codes[0] != 0 || codes[1] != 0 {
		t.Fatalf("exit codes %v\n%s\n---\n%s", codes, outs[0], outs[1])
	}
	var batches []map[string]any
	jsonUnmarshal(c.run(0, "batches", "--json"), &batches)
	if len(batches) != 2 {
		t.Errorf("got %d batches, want each file once (2)\n%s\n---\n%s", len(batches), outs[0], outs[1])
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// SIGTERM while a big file is being applied, with a deadline shorter than
// the file takes: the file is rolled back whole, serve exits 0, and the
// next run processes it.
func TestServeStopRollsBackTheFileInProgress(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	var b strings.Builder
	b.WriteString("record_id,employer_id,employee_id,first_name,last_name,address_line1,city,state,zip\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "R%d,ACME,X%d,First,Last,1 Main St,Boston,MA,02134\n", i, i)
	}
	r.drop(t, "census_big.csv", []byte(b.String()))
	src := sourceFor("acme", s, r)
	src.extra = "    schedule: \"* * * * * *\"\n"
	c := sftpCLI(t, bin, src)
	cfg, _ := os.ReadFile(c.config)
	os.WriteFile(c.config, append([]byte("shutdown_timeout: 100ms\n"), cfg...), 0o600)

	cmd := exec.Command(bin, "--config", c.config, "--ledger", "ledger.db", "serve", "--http", "")
	cmd.Dir = c.dir
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 20*time.Second, "processing to start", func() bool { return strings.Contains(logs.String(), "processing file") })
	time.Sleep(200 * time.Millisecond)
	stopServe(t, cmd, &logs)
	if !strings.Contains(logs.String(), "rolling back") {
		t.Skipf("the file finished before the deadline; nothing to roll back on this machine")
	}
	var batches []map[string]any
	jsonUnmarshal(c.run(0, "batches", "--json"), &batches)
	for _, bt := range batches {
		if bt["status"] != "FAILED" {
			t.Errorf("after the stop: batch %v, want only FAILED (nothing applied)", bt["status"])
		}
	}
	c.run(1, "lookup", "--employer", "ACME", "--employee", "X0")
	if len(names(t, r.inbound)) != 1 {
		t.Errorf("the interrupted file left inbound")
	}
	c.run(0, "run")
	c.lookup("ACME", "X19999")
}

// stopServe sends SIGTERM and requires exit status 0 within 10 s.
func stopServe(t *testing.T, cmd *exec.Cmd, logs *syncBuffer) {
	t.Helper()
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10s of SIGTERM")
	}
	t.Logf("serve stopped %v after SIGTERM", time.Since(start))
}
