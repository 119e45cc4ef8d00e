package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"sort"
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
