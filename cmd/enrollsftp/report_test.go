package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportJSON is what these tests read of `report --format json`.
type reportJSON struct {
	Source string `json:"source"`
	Totals struct {
		Files                 int `json:"files"`
		FilesAlreadyProcessed int `json:"files_already_processed"`
		OutputsDelivered      int `json:"outputs_delivered"`
		ReleasesInPeriod      int `json:"releases_in_period"`
	} `json:"totals"`
	Files []struct {
		Source         string `json:"source"`
		File           string `json:"file"`
		Status         string `json:"status"`
		BatchID        string `json:"batch_id"`
		EarlierBatchID string `json:"earlier_batch_id"`
		Reruns         []struct {
			By string `json:"by"`
		} `json:"reruns"`
		Outputs []struct {
			Name        string `json:"name"`
			SHA256      string `json:"sha256"`
			Size        int64  `json:"size"`
			DeliveredAt string `json:"delivered_at"`
		} `json:"outputs"`
	} `json:"files"`
	OperatorActions []struct {
		At         string `json:"at"`
		Action     string `json:"action"`
		By         string `json:"by"`
		Reason     string `json:"reason"`
		File       string `json:"file"`
		ReceivedAt string `json:"received_at"`
		BatchID    string `json:"batch_id"`
	} `json:"operator_actions"`
}

func (c *cli) report(args ...string) reportJSON {
	c.t.Helper()
	var r reportJSON
	if err := json.Unmarshal([]byte(c.run(0, append([]string{"report", "--format", "json"}, args...)...)), &r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

// A file `run` receives whose bytes were applied before is answered
// (FILE_ALREADY_PROCESSED, delivered) and archived with no batch; the
// report of its day lists it with the batch that applied its bytes and the
// answer delivered, each output's SHA-256 that of the bytes in outbound.
func TestReportListsFilesRunRefused(t *testing.T) {
	e := newCrashEnv(t, buildBinary(t))
	c := &cli{t: t, bin: e.bin, dir: e.dir, config: "config.yaml", now: "2026-11-15T02:00:00Z"}
	c.run(0, "run")
	work := filepath.Join(e.dir, "staging", "embedded", "demo")
	if err := os.WriteFile(filepath.Join(work, "inbound", "census_demo_20261116.csv"),
		demoFile(t, "census_demo_20261115.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	batches := c.run(0, "batches", "--json")
	c.now = "2026-11-16T02:00:00Z"
	if out := c.run(0, "run"); !strings.Contains(out, "FILE_ALREADY_PROCESSED") {
		t.Errorf("run of the resend:\n%s", out)
	}
	if again := c.run(0, "batches", "--json"); again != batches {
		t.Errorf("the resend made a batch:\n%s\nwas:\n%s", again, batches)
	}

	r := c.report("--since", "2026-11-16", "--until", "2026-11-16")
	if r.Totals.Files != 1 || r.Totals.FilesAlreadyProcessed != 1 || len(r.Files) != 1 || r.Totals.OutputsDelivered != 2 {
		t.Fatalf("the report of the 16th: %+v, want the resend and its two outputs (ack.csv, ack.json)", r)
	}
	f := r.Files[0]
	if f.File != "census_demo_20261116.csv" || f.Source != "demo" || f.Status != "ALREADY_PROCESSED" || f.BatchID != "" ||
		f.EarlierBatchID == "" || len(f.Outputs) != 2 {
		t.Fatalf("the resend in the report: %+v", f)
	}
	for _, o := range f.Outputs {
		b, err := os.ReadFile(filepath.Join(work, "outbound", o.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != o.SHA256 || int64(len(b)) != o.Size || o.DeliveredAt != "2026-11-16T02:00:00Z" {
			t.Errorf("output %+v: not what outbound holds (%d bytes)", o, len(b))
		}
	}
	if !strings.Contains(c.run(0, "batch", "show", f.EarlierBatchID), "census_demo_20261115.csv") {
		t.Errorf("earlier_batch_id %s is not the census of the 15th", f.EarlierBatchID)
	}
	both := c.report("--since", "2026-11-15", "--until", "2026-11-16", "--source", "demo")
	if both.Totals.Files != 3 || both.Files[2].Status != "ALREADY_PROCESSED" {
		t.Errorf("the report of both days: %+v, want the two demo files and the resend", both.Files)
	}
	for _, format := range []string{"html", "csv"} {
		if out := c.run(0, "report", "--since", "2026-11-16", "--until", "2026-11-16", "--format", format); !strings.Contains(out, "census_demo_20261116.csv") ||
			!strings.Contains(out, "ALREADY_PROCESSED") || !strings.Contains(out, f.EarlierBatchID) {
			t.Errorf("report --format %s lacks the resend:\n%s", format, out)
		}
	}
}

// --source must name a source: configured, or one a file came from; else
// exit 2, not an empty report. A local file is labelled "local" in every
// format's display, and --source local selects the local files.
func TestReportSource(t *testing.T) {
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	data, _ := filepath.Abs("../../testdata")
	c.run(0, "plans", "load", filepath.Join(data, "plans.yaml"))
	c.run(0, "process", "--type", "census", filepath.Join(data, "e2e", "census_acme_20261115.csv"))
	period := []string{"--since", "2026-11-01", "--until", "2026-11-30"}
	c.run(2, append([]string{"report", "--source", "nosuch"}, period...)...)

	all, local := c.report(period...), c.report(append(period, "--source", "local")...)
	if all.Totals.Files != 1 || local.Totals.Files != 1 || local.Source != "local" || local.Files[0].Source != "" {
		t.Errorf("--source local: %+v; all: %+v", local, all)
	}
	csvOut := c.run(0, append([]string{"report", "--format", "csv"}, period...)...)
	if !strings.Contains(csvOut, "2026-11-15T02:00:00Z,local,census_acme_20261115.csv,") {
		t.Errorf("the CSV does not label the local file local:\n%s", csvOut)
	}
	html := c.run(0, append([]string{"report", "--source", "local"}, period...)...)
	if !strings.Contains(html, "source <strong>local</strong>") || !strings.Contains(html, "census_acme_20261115.csv") {
		t.Errorf("the HTML of --source local:\n%s", html)
	}

	// A configured source with no file yet is a source: an empty report.
	cfg := filepath.Join(c.dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("sources:\n  - name: acme\n    sftp: {embedded: drop}\n    inbound: /in\n    outbound: /out\n    archive: /arc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(c.dir, "drop"), 0o700)
	c.config = "config.yaml"
	if r := c.report(append(period, "--source", "acme")...); r.Totals.Files != 0 || r.Source != "acme" {
		t.Errorf("--source acme: %+v", r)
	}
	c.logs.Reset()
	c.run(2, append([]string{"report", "--source", "nosuch"}, period...)...)
	if logs := c.logs.String(); !strings.Contains(logs, `"nosuch"`) || !strings.Contains(logs, "configured: acme") {
		t.Errorf("report --source nosuch says:\n%s", logs)
	}
}
