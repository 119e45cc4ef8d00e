package enroll

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPerson stores a person whose KYC failed, with nothing else.
func testPerson(t *testing.T, l *Ledger, id, first, last string) {
	t.Helper()
	if _, err := l.db.Exec(`INSERT INTO persons (id, first_name, last_name, dob, address_line1, city, state, zip,
		kyc_status, created_at, updated_at) VALUES (?, ?, ?, '1990-02-02', '9 Elm St', 'Worcester', 'MA', '01608',
		'FAILED', 'x', 'x')`, id, first, last); err != nil {
		t.Fatal(err)
	}
}

func auditOf(t *testing.T, l *Ledger, f AuditFilter) []AuditEvent {
	t.Helper()
	var out []AuditEvent
	if err := l.Audit(context.Background(), f, func(e AuditEvent) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A manual approval names its operator and keeps the reason, SSN masked,
// with the approval (lookup, the period's record) and in the audit trail;
// without an operator or a reason nothing is recorded.
func TestApproveKYCKeepsOperatorAndReason(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Date(2026, 11, 15, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	testPerson(t, l, "p1", "Cy", "Young")
	testPerson(t, l, "p2", "Di", "Other")

	for _, by := range []Actor{{}, {Name: "alice"}, {Reason: "passport checked"}, {Name: " ", Reason: "x"}} {
		if _, err := l.ApproveKYC(ctx, "p1", by); !errors.Is(err, ErrNoOperator) {
			t.Errorf("ApproveKYC(%+v): got %v, want ErrNoOperator", by, err)
		}
	}
	if p, _ := l.LookupPerson(ctx, "p1"); p.KYC.Status != "FAILED" || len(p.KYC.Approvals) != 0 {
		t.Fatalf("a refused approval changed the person: %+v", p.KYC)
	}

	if _, err := l.ApproveKYC(ctx, "p1", Actor{Name: " alice\n", Reason: "passport checked,\n\tSSN 078-05-1120 read out "}); err != nil {
		t.Fatal(err)
	}
	const wantReason = "passport checked, SSN ***-**-1120 read out"
	p, err := l.LookupPerson(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	want := ApprovalView{ApprovedBy: "alice", ApprovedAt: "2026-11-15T09:00:00Z", Reason: wantReason}
	if p.KYC.Status != "APPROVED" || len(p.KYC.Approvals) != 1 || p.KYC.Approvals[0] != want {
		t.Errorf("lookup: got %+v, want APPROVED with %+v", p.KYC, want)
	}

	events := auditOf(t, l, AuditFilter{PersonID: "p1"})
	if len(events) != 1 || events[0].Action != "KYC_APPROVED" || events[0].Actor != "alice" ||
		events[0].Reason != wantReason || events[0].BatchID != "" {
		t.Errorf("audit of p1: got %+v, want one KYC_APPROVED by alice", events)
	}
	if got := auditOf(t, l, AuditFilter{PersonID: "p2"}); len(got) != 0 {
		t.Errorf("audit of p2: got %+v, want nothing", got)
	}
	if err := l.Audit(ctx, AuditFilter{PersonID: "nobody"}, func(AuditEvent) error { return nil }); !errors.Is(err, ErrPersonNotFound) {
		t.Errorf("audit of an unknown person: got %v, want ErrPersonNotFound", err)
	}
	// The time bounds: Since ≤ at < Until.
	if got := auditOf(t, l, AuditFilter{PersonID: "p1", Since: now}); len(got) != 1 {
		t.Errorf("since the approval: got %d events, want 1", len(got))
	}
	if got := auditOf(t, l, AuditFilter{PersonID: "p1", Until: now}); len(got) != 0 {
		t.Errorf("until the approval: got %d events, want 0", len(got))
	}

	period, err := l.Period(ctx, PeriodFilter{Since: now.Add(-time.Hour), Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	wantA := Approval{At: "2026-11-15T09:00:00Z", By: "alice", Reason: wantReason, PersonID: "p1", FirstName: "Cy", LastName: "Young"}
	if len(period.Approvals) != 1 || period.Approvals[0] != wantA {
		t.Errorf("period approvals: got %+v, want %+v", period.Approvals, wantA)
	}
	if period, _ := l.Period(ctx, PeriodFilter{Since: now.Add(time.Second), Until: now.Add(time.Hour)}); len(period.Approvals) != 0 {
		t.Errorf("an approval outside the period is listed: %+v", period.Approvals)
	}
}

// The period's record holds what was delivered for a batch (name, SHA-256,
// size, when), and a batch's audit by id finds its own events.
func TestPeriodKeepsDeliveries(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	id := failedBatch(t, l, "census_1.csv")
	at := time.Date(2026, 11, 15, 3, 0, 0, 0, time.UTC)
	outs := []Output{{Name: "census_1.ack.csv", SHA256: strings.Repeat("a", 64), Size: 10},
		{Name: "census_1.ack.json", SHA256: strings.Repeat("b", 64), Size: 20}}
	if err := l.MarkDelivered(ctx, id, at, outs...); err != nil {
		t.Fatal(err)
	}
	p, err := l.Period(ctx, PeriodFilter{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Batches) != 1 || p.Batches[0].ID != id {
		t.Fatalf("period batches: got %+v, want batch %s", p.Batches, id)
	}
	got := p.Batches[0].Outputs
	for i := range outs {
		outs[i].DeliveredAt = "2026-11-15T03:00:00Z"
	}
	if len(got) != 2 || got[0] != outs[0] || got[1] != outs[1] {
		t.Errorf("outputs: got %+v, want %+v", got, outs)
	}
	if p, _ := l.Period(ctx, PeriodFilter{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour),
		Source: "other"}); len(p.Batches) != 0 {
		t.Errorf("another source's period lists %d batches", len(p.Batches))
	}
	var actions []string
	for _, e := range auditOf(t, l, AuditFilter{BatchID: id}) {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "FAILED,DELIVERED" {
		t.Errorf("audit of the batch: got %v, want FAILED, DELIVERED", actions)
	}
}

// A txn's prepared statements are closed before its connection goes back:
// one left to the garbage collector is finalized from the finalizer's
// goroutine, while another transaction may be using the connection. (An
// approval left them open; with the connection's mutex off, SQLite's
// memory was corrupted about one test run in twelve.)
func TestNoStatementOutlivesItsTransaction(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	testPerson(t, l, "p1", "Cy", "Young")
	before := openStmts.Load()
	if _, err := l.ApproveKYC(ctx, "p1", Actor{Name: "alice", Reason: "passport checked"}); err != nil {
		t.Fatal(err)
	}
	if n := openStmts.Load() - before; n != 0 {
		t.Errorf("ApproveKYC left %d prepared statements open", n)
	}
	// And on its error path.
	if _, err := l.ApproveKYC(ctx, "nobody", Actor{Name: "alice", Reason: "x"}); err == nil {
		t.Fatal("approval of an unknown person: no error")
	}
	if n := openStmts.Load() - before; n != 0 {
		t.Errorf("a failed ApproveKYC left %d prepared statements open", n)
	}
}
