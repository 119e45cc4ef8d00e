package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp/pipeline"
)

// TestMetricsExistBeforeTheFirstRun: /metrics had no series for a source
// until its first pass ended, so the README's alert on
// time() - enrollsftp_last_success_timestamp_seconds never fired for a
// source that never succeeded. Every per-source series is there at 0 from
// the start.
func TestMetricsExistBeforeTheFirstRun(t *testing.T) {
	l, path := newLedger(t)
	d, err := New(Config{Ledger: l, LedgerPath: path, Addr: "127.0.0.1:0", Shutdown: time.Second, Log: zerolog.Nop(),
		BeforePass: func(context.Context) error { t.Error("a pass ran: the test scrapes before any"); return nil },
		Jobs: []Job{{Source: pipeline.Source{Name: "acme"}, Schedule: "0 0 1 1 *"},
			{Source: pipeline.Source{Name: "globex"}, Schedule: "0 0 1 1 *"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	var body string
	for range 50 { // the listener is bound; the handler may not be installed yet
		resp, err := http.Get("http://" + d.Addr() + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	lines := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		lines[line] = true
	}
	for _, src := range []string{"acme", "globex"} {
		want := []string{
			fmt.Sprintf(`enrollsftp_last_success_timestamp_seconds{source=%q} 0`, src),
			fmt.Sprintf(`enrollsftp_run_duration_seconds_count{source=%q} 0`, src),
		}
		for _, status := range []string{"APPLIED", "REJECTED", "HELD", "FAILED", "SKIPPED", "REFUSED", "DEFERRED"} {
			want = append(want, fmt.Sprintf(`enrollsftp_files_total{source=%q,status=%q} 0`, src, status))
		}
		for _, status := range []string{"ACCEPTED", "REJECTED", "DUPLICATE", "PENDING_KYC"} {
			want = append(want, fmt.Sprintf(`enrollsftp_rows_total{source=%q,status=%q} 0`, src, status))
		}
		for _, step := range []string{"connect", "list", "download", "stage", "process", "deliver", "archive", "other"} {
			want = append(want, fmt.Sprintf(`enrollsftp_sftp_errors_total{source=%q,step=%q} 0`, src, step))
		}
		for _, w := range want {
			if !lines[w] {
				t.Errorf("/metrics before any run lacks %s", w)
			}
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
