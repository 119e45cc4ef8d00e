package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/report"
)

// personEvents is the audit trail of one person's own row.
func (e *env) personEvents(employer, employee string) []enroll.AuditEvent {
	e.t.Helper()
	var out []enroll.AuditEvent
	err := e.l.Audit(context.Background(), enroll.AuditFilter{EmployerID: employer, EmployeeID: employee,
		Entities: []string{"person"}}, func(ev enroll.AuditEvent) error {
		out = append(out, ev)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func snapshotField(t *testing.T, snapshot, field string) (string, bool) {
	t.Helper()
	if snapshot == "" {
		return "", false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(snapshot), &m); err != nil {
		t.Fatal(err)
	}
	v, ok := m[field]
	s, _ := v.(string)
	return s, ok
}

// A corrected date of birth is a change in the audit trail, though the
// trail never holds the date: the person's snapshot keeps a keyed tag of
// it, which a reviewer sees as "dob: changed", masked. An SSN added later
// shows by its last four; one that differs from the SSN on file (even in
// the first five digits only) is refused, not changed unseen.
func TestAuditShowsDOBAndSSNChanges(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	created := e.personEvents("ACME", "E1")
	if len(created) != 1 || created[0].Action != "CREATE" {
		t.Fatalf("E1's events: %+v", created)
	}
	tag, ok := snapshotField(t, created[0].After, "dob_tag")
	if !ok || len(tag) != 8 || strings.Contains(created[0].After, "1980") {
		t.Fatalf("E1's CREATE snapshot: %s", created[0].After)
	}

	_, ack := e.mustProcess(enrollsftp.Census, censusHeader+
		// E1's DOB corrected by a day; nothing else.
		"N1,ACME,E1,Ada,Lovelace,123-45-6780,1980-04-13,12 Main St,Boston,MA,02134,ada@example.com,ACTIVE,2020-01-06,\n"+
		// E4 gains an SSN and a DOB.
		"N4,ACME,E4,Dee,Nossn,456-78-9012,1985-05-05,1 Pine Rd,Lowell,MA,01852,,ACTIVE,2022-02-01,\n"+
		// E2 with another SSN ending like the one on file.
		"N2,ACME,E2,Bob,Builder,224-56-7891,1975-09-30,44 Oak Ave,Springfield,MA,01103,bob@example.com,ACTIVE,2019-03-01,\n")
	want(t, ack, "2", enrollsftp.RecordAccepted, "")
	want(t, ack, "3", enrollsftp.RecordAccepted, "")
	want(t, ack, "4", enrollsftp.RecordRejected, "SSN_CONFLICT")

	events := e.personEvents("ACME", "E1") // CREATE, UPDATE, KYC_PASSED (identity changed: verified again)
	if len(events) != 3 || events[1].Action != "UPDATE" {
		t.Fatalf("E1's events after the correction: %+v", events)
	}
	upd := events[1]
	before, _ := snapshotField(t, upd.Before, "dob_tag")
	after, _ := snapshotField(t, upd.After, "dob_tag")
	if before != tag || after == "" || after == tag || strings.Contains(upd.Before+upd.After, "1980") {
		t.Errorf("E1's UPDATE: before %s after %s (tag at creation %s)", upd.Before, upd.After, tag)
	}
	shown := report.AuditEvent(upd)
	if len(shown.Changes) == 0 || shown.Changes[0] != (report.Change{Field: "dob", Before: "****-**-**", After: "****-**-**"}) {
		t.Errorf("E1's UPDATE as shown: %+v", shown.Changes)
	}

	var last report.Event
	for _, ev := range e.personEvents("ACME", "E4") {
		if ev.Action == "UPDATE" {
			last = report.AuditEvent(ev)
		}
	}
	got := map[string]report.Change{}
	for _, c := range last.Changes {
		got[c.Field] = c
	}
	if got["ssn_last4"].After != "***-**-9012" || got["ssn_last4"].Before != "" ||
		got["dob"] != (report.Change{Field: "dob", Before: "", After: "****-**-**"}) {
		t.Errorf("E4's UPDATE as shown: %+v", last.Changes)
	}
	// A census that repeats the date on file records no change of it.
	e.mustProcess(enrollsftp.Census, censusHeader+
		"R1,ACME,E1,Ada,Lovelace,123-45-6780,1980-04-13,12 Main St,Boston,MA,02134,ada@example.com,ACTIVE,2020-01-06,\n")
	if n := len(e.personEvents("ACME", "E1")); n != 3 {
		t.Errorf("an unchanged DOB added events: %d, want 3", n)
	}
}
