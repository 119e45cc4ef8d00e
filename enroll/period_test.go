package enroll

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"enrollsftp"
)

// A period's record places each thing by when it happened: a file
// received in Q3, rerun, delivered and sent again in Q4, is a file of Q3
// whose rerun, delivery and refused resend are Q4's. A refused resend
// makes no batch. The source filter applies to all of it; Local keeps
// the local files only.
func TestPeriodPlacesActionsByTheirOwnTime(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		l.Now = func() time.Time { return tm }
		return tm
	}
	none := func() (Record, error) { return Record{}, io.EOF }
	received := at("2026-09-30T02:00:00Z")
	file := File{Source: "acme", Name: "census_0930.csv", Type: enrollsftp.Census, SHA256: "s1", Size: 10,
		ReceivedAt: received}
	bad := file
	bad.FileErrors = enrollsftp.Errors{{Code: enrollsftp.HeaderMissingColumn, Message: "no ssn"}}
	rejected, err := l.Process(ctx, bad, nil, nil)
	if err != nil || rejected.Status != enrollsftp.BatchRejected {
		t.Fatalf("the Q3 file: %+v, %v", rejected, err)
	}
	at("2026-10-05T09:00:00Z")
	again := file
	again.RerunOf, again.Operator = rejected.ID, Actor{Name: "alice", Reason: "layout fixed"}
	rerun, err := l.Process(ctx, again, none, nil)
	if err != nil || rerun.Status != enrollsftp.BatchApplied {
		t.Fatalf("the rerun: %+v, %v", rerun, err)
	}
	delivered := at("2026-10-05T09:00:05Z")
	if err := l.MarkDelivered(ctx, rerun.ID, delivered, Output{Name: "census_0930.ack.csv", SHA256: "a1", Size: 5},
		Output{Name: "census_0930.ack.json", SHA256: "a2", Size: 6}); err != nil {
		t.Fatal(err)
	}
	resent := at("2026-10-06T02:00:00Z")
	if _, err := l.RecordRefusal(ctx, File{Source: "acme", Name: "census_1006.csv", Type: enrollsftp.Census,
		SHA256: "s1", Size: 10, ReceivedAt: resent}, rerun.ID, resent,
		Output{Name: "census_1006.ack.json", SHA256: "r1", Size: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.RecordRefusal(ctx, File{Name: "local.csv", Type: enrollsftp.Census, SHA256: "s1", Size: 10,
		ReceivedAt: resent.Add(time.Hour)}, rerun.ID, resent.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if list, _ := l.Batches(ctx, Filter{}); len(list) != 2 {
		t.Errorf("%d batches, want 2: a refused resend makes none", len(list))
	}

	q3 := PeriodFilter{Since: at("2026-07-01T00:00:00Z"), Until: at("2026-10-01T00:00:00Z")}
	q4 := PeriodFilter{Since: q3.Until, Until: at("2027-01-01T00:00:00Z")}
	p, err := l.Period(ctx, q3)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Batches) != 2 || len(p.Reruns) != 0 || len(p.Deliveries) != 0 || len(p.Refusals) != 0 {
		t.Errorf("Q3: %d batches (want the file and its rerun), %d reruns, %d deliveries, %d refusals (want none)",
			len(p.Batches), len(p.Reruns), len(p.Deliveries), len(p.Refusals))
	}

	p, err = l.Period(ctx, q4)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Batches) != 0 {
		t.Errorf("Q4 batches: %d, want none (the file was received in Q3)", len(p.Batches))
	}
	if len(p.Reruns) != 1 {
		t.Fatalf("Q4 reruns: %+v, want alice's", p.Reruns)
	}
	if r := p.Reruns[0]; r.Action != "RERUN" || r.Actor != "alice" || r.Reason != "layout fixed" ||
		r.EntityID != rejected.ID || r.BatchID != rerun.ID || r.At != "2026-10-05T09:00:00Z" ||
		r.File != (FileRef{"acme", "census_0930.csv", "2026-09-30T02:00:00Z"}) {
		t.Errorf("Q4 rerun: %+v", r)
	}
	if len(p.Deliveries) != 1 {
		t.Fatalf("Q4 deliveries: %+v, want the rerun's", p.Deliveries)
	}
	if d := p.Deliveries[0]; d.BatchID != rerun.ID || d.At != "2026-10-05T09:00:05Z" || len(d.Outputs) != 2 ||
		d.Outputs[0].SHA256 != "a1" || d.File.Name != "census_0930.csv" {
		t.Errorf("Q4 delivery: %+v", d)
	}
	if len(p.Refusals) != 2 {
		t.Fatalf("Q4 refusals: %+v, want 2", p.Refusals)
	}
	if r := p.Refusals[0]; r.Source != "acme" || r.File != "census_1006.csv" || r.EarlierBatchID != rerun.ID ||
		r.SHA256 != "s1" || r.Size != 10 || r.Type != enrollsftp.Census || r.ReceivedAt != "2026-10-06T02:00:00Z" ||
		len(r.Outputs) != 1 || r.Outputs[0] != (Output{"census_1006.ack.json", "r1", 7, "2026-10-06T02:00:00Z"}) {
		t.Errorf("the resend: %+v", r)
	}
	if r := p.Refusals[1]; r.Source != "" || r.File != "local.csv" || len(r.Outputs) != 0 {
		t.Errorf("the local resend: %+v", r)
	}

	for _, tt := range []struct {
		name                         string
		source                       string
		local                        bool
		reruns, deliveries, refusals int
	}{
		{"acme", "acme", false, 1, 1, 1},
		{"another source", "globex", false, 0, 0, 0},
		{"local", "", true, 0, 0, 1},
	} {
		f := q4
		f.Source, f.Local = tt.source, tt.local
		p, err := l.Period(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Reruns) != tt.reruns || len(p.Deliveries) != tt.deliveries || len(p.Refusals) != tt.refusals {
			t.Errorf("%s: %d reruns, %d deliveries, %d refusals; want %d, %d, %d", tt.name, len(p.Reruns),
				len(p.Deliveries), len(p.Refusals), tt.reruns, tt.deliveries, tt.refusals)
		}
	}

	if _, err := l.RecordRefusal(ctx, File{Source: "beta", Name: "x.csv", Type: enrollsftp.Census, SHA256: "s1",
		ReceivedAt: resent}, rerun.ID, resent); err != nil {
		t.Fatal(err)
	}
	for source, want := range map[string]bool{"acme": true, "beta": true, "nosuch": false, "local": false} {
		if got, err := l.KnownSource(ctx, source); err != nil || got != want {
			t.Errorf("KnownSource(%q) = %v, %v; want %v", source, got, err, want)
		}
	}
}
