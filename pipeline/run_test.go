package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/ingest"
)

// If delivery fails after the commit, the batch stays APPLIED and
// undelivered; the next run delivers it from the ledger and never
// processes the file a second time.
func TestFailedDeliveryIsRedeliveredNotReprocessed(t *testing.T) {
	e := newEnv(t)
	seed := t.TempDir()
	os.MkdirAll(filepath.Join(seed, "inbound"), 0o700)
	if err := os.WriteFile(filepath.Join(seed, "inbound", "census_1.csv"), []byte(baseCensus), 0o600); err != nil {
		t.Fatal(err)
	}
	staging := t.TempDir()
	src := Source{Name: "vendor", Embedded: seed, Inbound: "/inbound", Outbound: "/outbound", Archive: "/archive",
		Patterns: map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv"}}
	opts := RunOptions{Staging: staging, Now: func() time.Time { return e.now }}

	// A directory where the upload's temporary file must go makes the
	// upload fail after the batch has committed.
	work := filepath.Join(staging, "embedded", "vendor")
	if err := ingest.SeedOnce(seed, work); err != nil {
		t.Fatal(err)
	}
	block := filepath.Join(work, "outbound", "census_1.ack.csv.part")
	os.MkdirAll(block, 0o700)

	if _, err := RunSource(context.Background(), e.l, discard, src, opts); err == nil {
		t.Fatal("run with a broken outbound: got no error")
	}
	pending, err := e.l.Undelivered(context.Background(), "vendor")
	if err != nil || len(pending) != 1 || pending[0].Status != enrollsftp.BatchApplied {
		t.Fatalf("after the failed delivery: got %v (%v), want one APPLIED undelivered batch", pending, err)
	}

	os.RemoveAll(block)
	reports, err := RunSource(context.Background(), e.l, discard, src, opts)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if len(reports) != 2 || reports[0].Note != "redelivered" || reports[1].Batch.ID != "" {
		t.Errorf("second run: got %+v, want a redelivery and the input archived unprocessed", reports)
	}
	if list, _ := e.l.Batches(context.Background(), enroll.Filter{}); len(list) != 1 {
		t.Errorf("the file was processed %d times, want once", len(list))
	}
	var got []string
	for _, dir := range []string{"outbound", "archive", "inbound"} {
		entries, _ := os.ReadDir(filepath.Join(work, dir))
		for _, en := range entries {
			got = append(got, dir+"/"+en.Name())
		}
	}
	sort.Strings(got)
	want := []string{"archive/census_1.csv", "outbound/census_1.ack.csv", "outbound/census_1.ack.json"}
	if len(got) != len(want) {
		t.Fatalf("remote files: got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("remote files: got %v, want %v", got, want)
			break
		}
	}
	if pending, _ := e.l.Undelivered(context.Background(), "vendor"); len(pending) != 0 {
		t.Errorf("still undelivered after the second run: %v", pending)
	}
}

// Every file gets an answer (issue 14, item 3): the bytes of an applied
// file sent again, under a new name or the same one, are not applied
// again, and the vendor gets NAME.ack.json saying FILE_ALREADY_PROCESSED
// with the batch that applied them, and an ack.csv with no rows.
func TestResentBytesAreAnsweredAndArchived(t *testing.T) {
	e := newEnv(t)
	rep, run := pgpRunSource(t, e, discard, "census_1.csv", []byte(baseCensus), nil)
	if rep.Batch.Status != enrollsftp.BatchApplied {
		t.Fatalf("first run: %s", rep.Batch.Status)
	}
	for _, name := range []string{"census_1.csv", "census_2.csv"} {
		if err := os.WriteFile(filepath.Join(run.work, "inbound", name), []byte(baseCensus), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reports, err := RunSource(context.Background(), e.l, discard, run.src, run.opts)
	if err != nil || len(reports) != 2 {
		t.Fatalf("second run: %+v, %v", reports, err)
	}
	for _, r := range reports {
		if r.Status != StatusSkipped || len(r.Delivered) != 2 {
			t.Errorf("%s: %+v, want skipped and answered (ack.csv, ack.json; no error file to replace the applied batch's)", r.File, r)
		}
	}
	for _, base := range []string{"census_1", "census_2"} {
		var ack struct {
			FileErrors []struct{ Code string } `json:"file_errors"`
		}
		b, err := os.ReadFile(filepath.Join(run.work, "outbound", base+".ack.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &ack); err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		json.Unmarshal(b, &raw)
		if raw["earlier_batch_id"] != rep.Batch.ID || raw["status"] != "REJECTED" || len(ack.FileErrors) != 1 ||
			ack.FileErrors[0].Code != "FILE_ALREADY_PROCESSED" {
			t.Errorf("%s.ack.json (want earlier batch %s): %s", base, rep.Batch.ID, b)
		}
		csv, _ := os.ReadFile(filepath.Join(run.work, "outbound", base+".ack.csv"))
		if n := strings.Count(string(csv), "\n"); n != 1 {
			t.Errorf("%s.ack.csv has %d lines, want the header only", base, n)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(run.work, "inbound")); len(entries) != 0 {
		t.Errorf("inbound still holds %d files", len(entries))
	}
	if list, _ := e.l.Batches(context.Background(), enroll.Filter{}); len(list) != 1 {
		t.Errorf("%d batches, want the one applied", len(list))
	}
	// Both receipts are on the record (the compliance report lists every
	// file received), with the answers delivered, and no batch.
	p, err := e.l.Period(context.Background(), enroll.PeriodFilter{Since: e.now.Add(-time.Hour), Until: e.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Refusals) != 2 {
		t.Fatalf("refusals on record: %+v, want the two files", p.Refusals)
	}
	for _, r := range p.Refusals {
		sum, size, _ := hashFile(filepath.Join(run.work, "outbound", strings.TrimSuffix(r.File, ".csv")+".ack.json"))
		var ackJSON *enroll.Output
		for i, o := range r.Outputs {
			if o.Name == strings.TrimSuffix(r.File, ".csv")+".ack.json" {
				ackJSON = &r.Outputs[i]
			}
		}
		if r.Source != run.src.Name || r.EarlierBatchID != rep.Batch.ID || r.SHA256 != sha256Hex([]byte(baseCensus)) ||
			len(r.Outputs) != 2 || ackJSON == nil || ackJSON.SHA256 != sum || ackJSON.Size != size {
			t.Errorf("refusal of %s: %+v, want its two outputs (ack.json sha256 %s)", r.File, r, sum)
		}
	}
}

// A local file with the bytes of an applied one, under another name, is
// answered in --out and on the record without outputs; the same file
// again (the applied batch's own name: its answer stands) and a dry run
// are not.
func TestLocalResentBytesAreOnTheRecord(t *testing.T) {
	e := newEnv(t)
	first, err := e.process(enrollsftp.Census, baseCensus)
	if err != nil || first.Batch.Status != enrollsftp.BatchApplied {
		t.Fatalf("first: %+v, %v", first.Batch, err)
	}
	res, err := e.process(enrollsftp.Census, baseCensus) // another name
	if !errors.Is(err, enroll.ErrAlreadyProcessed) || res.Files.Summary == "" {
		t.Fatalf("resent: %+v, %v; want FILE_ALREADY_PROCESSED answered", res, err)
	}
	e.n = 0 // census_001.csv again
	if _, err := e.process(enrollsftp.Census, baseCensus); !errors.Is(err, enroll.ErrAlreadyProcessed) {
		t.Fatalf("the same file again: %v", err)
	}
	if _, err := e.process(enrollsftp.Census, baseCensus, func(o *Options) { o.DryRun = true }); !errors.Is(err, enroll.ErrAlreadyProcessed) {
		t.Fatalf("a dry run of it: %v", err)
	}
	p, err := e.l.Period(context.Background(), enroll.PeriodFilter{Since: e.now.Add(-time.Hour), Until: e.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Refusals) != 1 {
		t.Fatalf("refusals on record: %+v, want the one answered", p.Refusals)
	}
	if r := p.Refusals[0]; r.Source != "" || r.File != "census_002.csv" || r.EarlierBatchID != first.Batch.ID ||
		len(r.Outputs) != 0 {
		t.Errorf("the refusal: %+v", r)
	}
	if list, _ := e.l.Batches(context.Background(), enroll.Filter{}); len(list) != 1 {
		t.Errorf("%d batches, want the one applied", len(list))
	}
}

// A file rejected, fixed and sent again under the same name: once applied
// with nothing rejected, the old error file leaves the outbound folder, or
// the vendor would fix rows that are fine now.
func TestFixedResendTakesTheStaleErrorFileAway(t *testing.T) {
	e := newEnv(t)
	bad := []byte(strings.Replace(baseCensus, "employee_id", "worker", 1))
	rep, run := pgpRunSource(t, e, discard, "census_1.csv", bad, nil)
	if rep.Batch.Status != enrollsftp.BatchRejected {
		t.Fatalf("first run: %s", rep.Batch.Status)
	}
	errFile := filepath.Join(run.work, "outbound", "census_1.errors.csv")
	if _, err := os.Stat(errFile); err != nil {
		t.Fatalf("the rejection's error file: %v", err)
	}
	good := strings.Join(strings.Split(baseCensus, "\n")[:2], "\n") + "\n" // the header and one good row
	if err := os.WriteFile(filepath.Join(run.work, "inbound", "census_1.csv"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	reports, err := RunSource(context.Background(), e.l, discard, run.src, run.opts)
	if err != nil || len(reports) != 1 || reports[0].Batch.Status != enrollsftp.BatchApplied || reports[0].Batch.Rejected != 0 {
		t.Fatalf("second run: %+v, %v", reports, err)
	}
	if _, err := os.Stat(errFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale error file is still in outbound (%v)", err)
	}
}
