package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/enroll"
)

// A rerun --force keeps who released the hold and why: both batches, the
// one held and its rerun, answer with the same RELEASED event.
func TestRerunKeepsItsOperator(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	res, _ := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E1,FSA1,ENROLL,INDIVIDUAL,bad,2026-01-01,,NEW_HIRE,,,\n",
		func(o *Options) { o.MaxRejectRatio = 0.4 })
	if res.Batch.Status != enrollsftp.BatchHeld {
		t.Fatalf("got %s, want HELD", res.Batch.Status)
	}
	e.now = e.now.Add(time.Hour)
	again, err := Rerun(context.Background(), e.l, discard, res.Batch.ID, RerunOptions{OutDir: e.dir, Force: true,
		Operator: enroll.Actor{Name: "alice", Reason: "vendor confirmed L2 is resent"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{res.Batch.ID, again.Batch.ID} {
		got, err := e.l.Reruns(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Action != "RELEASED" || got[0].Actor != "alice" ||
			got[0].Reason != "vendor confirmed L2 is resent" || got[0].EntityID != res.Batch.ID ||
			got[0].BatchID != again.Batch.ID || got[0].At != "2026-11-15T03:00:00Z" {
			t.Errorf("reruns of %s: got %+v, want RELEASED of %s as %s by alice", id, got, res.Batch.ID, again.Batch.ID)
		}
	}
	p, err := e.l.Period(context.Background(), enroll.PeriodFilter{Since: testNow, Until: testNow.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var held *enroll.PeriodBatch
	for i := range p.Batches {
		if p.Batches[i].ID == res.Batch.ID {
			held = &p.Batches[i]
		}
	}
	if held == nil || len(held.Actions) != 1 || held.Actions[0].Actor != "alice" || held.SupersededBy != again.Batch.ID {
		t.Fatalf("the period's record of the held batch: %+v", held)
	}
	if held.Rejections["INVALID_AMOUNT"] != 1 || held.Codes["INVALID_AMOUNT"] != 1 {
		t.Errorf("the held batch's codes: %v, rejections %v", held.Codes, held.Rejections)
	}
}

// Delivering a batch records each output uploaded with the SHA-256 and
// size of the bytes that reached the outbound folder.
func TestDeliveryRecordsTheOutputsSent(t *testing.T) {
	e := newEnv(t)
	seed := t.TempDir()
	os.MkdirAll(filepath.Join(seed, "inbound"), 0o700)
	if err := os.WriteFile(filepath.Join(seed, "inbound", "census_1.csv"), []byte(baseCensus+
		"C7,ACME,E7,Bad,Zip,,,1 Main St,Boston,MA,1,,ACTIVE,2020-01-06,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	staging := t.TempDir()
	src := Source{Name: "vendor", Embedded: seed, Inbound: "/inbound", Outbound: "/outbound", Archive: "/archive",
		Patterns: map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv"}}
	if _, err := RunSource(context.Background(), e.l, discard, src, RunOptions{Staging: staging,
		Now: func() time.Time { return e.now }}); err != nil {
		t.Fatal(err)
	}
	p, err := e.l.Period(context.Background(), enroll.PeriodFilter{Since: testNow, Until: testNow.Add(time.Minute), Source: "vendor"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Batches) != 1 {
		t.Fatalf("period: %d batches, want 1", len(p.Batches))
	}
	outs := p.Batches[0].Outputs
	if len(outs) != 3 {
		t.Fatalf("outputs: got %+v, want ack, summary and errors", outs)
	}
	for _, o := range outs {
		b, err := os.ReadFile(filepath.Join(staging, "embedded", "vendor", "outbound", o.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if o.SHA256 != hex.EncodeToString(sum[:]) || o.Size != int64(len(b)) || o.DeliveredAt != "2026-11-15T02:00:00Z" {
			t.Errorf("%s: recorded %s %d bytes at %s, sent %x %d bytes", o.Name, o.SHA256, o.Size, o.DeliveredAt, sum, len(b))
		}
	}
}
