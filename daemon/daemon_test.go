package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/kyc"
	"enrollsftp/pipeline"
)

func newLedger(t *testing.T) (*enroll.Ledger, string) {
	t.Helper()
	keys, _ := enroll.NewKeys(bytes.Repeat([]byte{1}, 32))
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := enroll.Open(context.Background(), path, keys, kyc.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func TestNewRefusesBadSchedules(t *testing.T) {
	l, path := newLedger(t)
	for _, sched := range []string{"61 * * * *", "every day", ""} {
		_, err := New(Config{Ledger: l, LedgerPath: path, Jobs: []Job{{Source: pipeline.Source{Name: "s"}, Schedule: sched}}})
		if err == nil {
			t.Errorf("schedule %q: got no error", sched)
		}
	}
	for _, sched := range []string{"0 2 * * *", "*/10 * * * * *", "CRON_TZ=America/New_York 0 2 * * *", "@hourly"} {
		if _, err := New(Config{Ledger: l, LedgerPath: path, Jobs: []Job{{Source: pipeline.Source{Name: "s"}, Schedule: sched}}}); err != nil {
			t.Errorf("schedule %q: %v", sched, err)
		}
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	l, path := newLedger(t)
	d, err := New(Config{Ledger: l, LedgerPath: path, Addr: "127.0.0.1:0", Shutdown: time.Second, Log: zerolog.Nop(),
		Jobs: []Job{{Source: pipeline.Source{Name: "acme"}, Schedule: "0 2 * * *"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of its context ending")
		}
	}()
	get := func(p string) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		for range 50 { // the listener is bound already; the handler may not be installed yet
			if resp, err = http.Get("http://" + d.Addr() + p); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := get("/healthz")
	var h struct {
		Status  string
		Sources map[string]SourceState
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 200 || h.Status != "ok" ||
		h.Sources["acme"].LastResult != "never" || h.Sources["acme"].Schedule != "0 2 * * *" {
		t.Fatalf("/healthz before any run: %d %s (%v)", code, body, err)
	}

	d.metrics.observe("acme", []pipeline.FileReport{{Batch: enrollsftp.Batch{ID: "b1", Status: "APPLIED", Accepted: 5, Rejected: 2}},
		{File: "dup.csv", Status: pipeline.StatusSkipped, Note: "already processed as batch b0"},
		{File: "census_x.csv", Status: pipeline.StatusRefused}}, 1.5, nil, 1_800_000_000)
	d.metrics.observe("acme", nil, 0.1, &pipeline.StepError{Step: "connect", Err: errors.New("refused")}, 1_800_000_100)
	_, metrics := get("/metrics")
	for _, want := range []string{
		`enrollsftp_files_total{source="acme",status="APPLIED"} 1`,
		`enrollsftp_files_total{source="acme",status="SKIPPED"} 1`,
		`enrollsftp_files_total{source="acme",status="REFUSED"} 1`,
		`enrollsftp_rows_total{source="acme",status="ACCEPTED"} 5`,
		`enrollsftp_rows_total{source="acme",status="REJECTED"} 2`,
		`enrollsftp_sftp_errors_total{source="acme",step="connect"} 1`,
		`enrollsftp_last_success_timestamp_seconds{source="acme"} 1.8e+09`,
		`enrollsftp_run_duration_seconds_count{source="acme"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	d.cfg.LedgerPath = filepath.Join(t.TempDir(), "gone.db")
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"unavailable"`) {
		t.Errorf("/healthz without a ledger: got %d %s, want 503", code, body)
	}
}

func TestCronLoggerReportsSkips(t *testing.T) {
	var buf bytes.Buffer
	c := cronLogger{zerolog.New(&buf)}
	c.Info("skip")
	c.Error(errors.New("boom"), "panic", "job", "x")
	out := buf.String()
	if !strings.Contains(out, "previous run of this source is still going") || !strings.Contains(out, "boom") {
		t.Errorf("cron log lines: %s", out)
	}
}

// TestHealthzReportsAStalledRun: a pass that shows no progress for longer
// than its timeout makes /healthz answer 503 "stalled" (it said ok while a
// source was wedged), and ok again once the pass moves.
func TestHealthzReportsAStalledRun(t *testing.T) {
	l, path := newLedger(t)
	stuck := make(chan struct{})
	d, err := New(Config{Ledger: l, LedgerPath: path, Log: zerolog.Nop(), MinStall: 100 * time.Millisecond,
		BeforePass: func(ctx context.Context) error { <-stuck; return errors.New("released") },
		Jobs:       []Job{{Source: pipeline.Source{Name: "acme"}, Schedule: "0 2 * * *"}}})
	if err != nil {
		t.Fatal(err)
	}
	health := func() (int, map[string]any) {
		t.Helper()
		rec := httptest.NewRecorder()
		d.healthz(rec, httptest.NewRequest("GET", "/healthz", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body
	}
	done := make(chan struct{})
	go func() { d.pass(context.Background(), d.cfg.Jobs[0]); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := health()
		if code == http.StatusServiceUnavailable {
			if body["status"] != "stalled" || !body["sources"].(map[string]any)["acme"].(map[string]any)["stalled"].(bool) {
				t.Errorf("503 body: %v, want status stalled and the source stalled", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d %v 10s into a stuck pass", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stuck)
	<-done
	if code, body := health(); code != http.StatusOK {
		t.Errorf("after the pass ended: %d %v, want 200", code, body)
	}
}
