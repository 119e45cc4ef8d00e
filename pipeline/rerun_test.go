package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrollsftp"
)

func TestRerunReleasesAHeldBatchOnlyWithForce(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	res, _ := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E1,FSA1,ENROLL,INDIVIDUAL,bad,2026-01-01,,NEW_HIRE,,,\n",
		func(o *Options) { o.MaxRejectRatio = 0.4 })
	if res.Batch.Status != enrollsftp.BatchHeld {
		t.Fatalf("got %s, want HELD", res.Batch.Status)
	}
	out := filepath.Join(e.dir, "rerun")
	if _, err := Rerun(context.Background(), e.l, discard, res.Batch.ID, RerunOptions{OutDir: out}); !errors.Is(err, ErrNotRerunnable) {
		t.Fatalf("rerun of HELD without --force: got %v, want ErrNotRerunnable", err)
	}
	if p := e.lookup("ACME", "E2"); len(p.Enrollments) != 0 {
		t.Fatal("applied before the release")
	}
	again, err := Rerun(context.Background(), e.l, discard, res.Batch.ID, RerunOptions{OutDir: out, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.Batch.Status != enrollsftp.BatchApplied || again.Batch.Accepted != 1 {
		t.Errorf("rerun --force: got %s accepted=%d, want APPLIED 1", again.Batch.Status, again.Batch.Accepted)
	}
	if p := e.lookup("ACME", "E2"); len(p.Enrollments) != 1 {
		t.Errorf("after rerun --force: %d enrollments, want 1", len(p.Enrollments))
	}
	old, _ := e.l.Batch(context.Background(), res.Batch.ID)
	if old.SupersededBy != again.Batch.ID {
		t.Errorf("old batch superseded_by %q, want %q", old.SupersededBy, again.Batch.ID)
	}
	if _, err := Rerun(context.Background(), e.l, discard, res.Batch.ID, RerunOptions{OutDir: out, Force: true}); !errors.Is(err, ErrNotRerunnable) {
		t.Errorf("a second rerun of the same batch: got %v, want ErrNotRerunnable", err)
	}
	if _, err := Rerun(context.Background(), e.l, discard, again.Batch.ID, RerunOptions{OutDir: out}); !errors.Is(err, ErrNotRerunnable) {
		t.Errorf("rerun of an APPLIED batch: got %v, want ErrNotRerunnable", err)
	}
}

// A file whose layout is missing FAILS (nothing applied); once the
// operator adds the layout, rerun processes it. A file REJECTED for an
// unknown column is rerun after the layout learns the vendor's alias.
func TestRerunAfterTheCauseIsFixed(t *testing.T) {
	e := newEnv(t)
	layouts := t.TempDir()
	res, err := e.process(enrollsftp.Census, baseCensus, func(o *Options) { o.Layout = "census.acme"; o.LayoutDir = layouts })
	if err == nil {
		t.Fatal("a missing layout: got no error")
	}
	list, _ := e.l.Batches(context.Background(), enrollFilter("FAILED"))
	if len(list) != 1 || list[0].Error == "" || list[0].StagedPath == "" {
		t.Fatalf("FAILED batches: got %+v", list)
	}
	failed := list[0].ID
	if res.Batch.ID != "" {
		t.Errorf("a failed file returned batch %s", res.Batch.ID)
	}
	census, _ := os.ReadFile("../schemas/census.v1.yaml")
	acme := strings.Replace(string(census), "name: census.v1", "name: census.acme", 1)
	os.WriteFile(filepath.Join(layouts, "census.acme.yaml"), []byte(acme), 0o600)
	again, err := Rerun(context.Background(), e.l, discard, failed, RerunOptions{OutDir: e.dir, LayoutDir: layouts})
	if err != nil || again.Batch.Status != enrollsftp.BatchApplied || again.Batch.Accepted != 6 {
		t.Fatalf("rerun of FAILED after the fix: got %+v, %v", again.Batch, err)
	}

	// REJECTED: the vendor calls employee_id "Worker No".
	body := strings.Replace(baseCensus, "employee_id", "Worker No", 1)
	body = strings.ReplaceAll(body, "Ada,Lovelace", "Ada,Lovelace2")
	body = strings.ReplaceAll(body, "\nC", "\nR") // new records, new record_ids
	rej, err := e.process(enrollsftp.Census, body, func(o *Options) { o.Layout = "census.acme"; o.LayoutDir = layouts })
	if err != nil || rej.Batch.Status != enrollsftp.BatchRejected {
		t.Fatalf("unknown column: got %+v, %v", rej.Batch, err)
	}
	acme = strings.Replace(acme, "aliases: [employee id,", "aliases: [worker no, employee id,", 1)
	os.WriteFile(filepath.Join(layouts, "census.acme.yaml"), []byte(acme), 0o600)
	fixed, err := Rerun(context.Background(), e.l, discard, rej.Batch.ID, RerunOptions{OutDir: e.dir, LayoutDir: layouts})
	if err != nil || fixed.Batch.Status != enrollsftp.BatchApplied {
		t.Fatalf("rerun of REJECTED after the layout fix: got %+v, %v", fixed.Batch, err)
	}
	if p := e.lookup("ACME", "E1"); p.LastName != "Lovelace2" {
		t.Errorf("rerun did not apply: last name %q", p.LastName)
	}
}
