package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"enrollsftp/enroll"
)

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"12 Main St", "12 Main St"},
		{"", ""},
		{"12 Main St\nApt 4", `12 Main St\nApt 4`},
		{"9 Elm St\r\nRear", `9 Elm St\r\nRear`},
		{"a\tb", `a\tb`},
		{"red \x1b[31mALERT", `red \x1b[31mALERT`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{`C:\dir`, `C:\\dir`},
		{"bad \xff byte", `bad \xff byte`},
		{"next\u0085line", `next\u0085line`},
		{"line\u2028sep", `line\u2028sep`},
		{"abc\u202edcba", `abc\u202edcba`},
		{"José Ñúñez 日本", "José Ñúñez 日本"},
	}
	for _, tt := range tests {
		if got := OneLine(tt.in); got != tt.want {
			t.Errorf("OneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func auditText(t *testing.T, events ...enroll.AuditEvent) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewAuditWriter(&buf, false)
	for _, e := range events {
		if err := w.Write(AuditEvent(e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The text table: a value never breaks its line, an UPDATE from nothing
// reads "- → value", a changed date of birth reads "dob: changed" with
// neither date, and the config's plans load is the actor "config".
func TestAuditWriterText(t *testing.T) {
	const at = "2026-11-19T11:00:00Z"
	out := auditText(t,
		enroll.AuditEvent{At: at, BatchID: "B", Line: 2, Action: "CREATE", Entity: "person", EntityID: "p1",
			After: `{"address_line1":"12 Main St\nApt 4","dob_tag":"0a1b2c3d","first_name":"Ada\r2026-01-01  operator x  FORGED"}`},
		enroll.AuditEvent{At: at, BatchID: "B2", Line: 3, Action: "UPDATE", Entity: "person", EntityID: "p1",
			Before: `{"dob_tag":"0a1b2c3d","email":"","phone":"555"}`, After: `{"dob_tag":"4e5f6a7b","email":"ada@example.com","phone":""}`},
		enroll.AuditEvent{At: at, Actor: "ops\nFORGED", Reason: "why\nnot", Action: "UPDATE", Entity: "plan",
			EntityID: "ACME/FSA1", Before: `{"limit_individual":"3400.00"}`, After: `{"limit_individual":"3300.00"}`},
		enroll.AuditEvent{At: at, Actor: enroll.ConfigActor, Reason: "run loaded plans.yaml", Action: "CREATE",
			Entity: "employer", EntityID: "ACME", After: `{"id":"ACME"}`},
	)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, at) && !strings.HasPrefix(l, "    ") {
			t.Errorf("a line neither starts an event nor continues one: %q\n%s", l, out)
		}
	}
	for _, want := range []string{
		`address_line1: 12 Main St\nApt 4`,
		`first_name: Ada\r****-**-**  operator x  FORGED`,
		"dob: ****-**-**",
		"dob: changed",
		"email: - → ada@example.com",
		"phone: 555 → -",
		`operator ops\nFORGED`,
		`why: why\nnot`,
		"limit_individual: 3400.00 → 3300.00",
		"why: run loaded plans.yaml",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^` + at + `  config +CREATE +employer ACME`).MatchString(out) {
		t.Errorf("the config's load is not by the actor config:\n%s", out)
	}
	if strings.Contains(out, "0a1b2c3d") || strings.Contains(out, "4e5f6a7b") {
		t.Errorf("the table shows a DOB tag:\n%s", out)
	}
	if ev := AuditEvent(enroll.AuditEvent{Actor: enroll.ConfigActor, Action: "CREATE", Entity: "plan"}); ev.Actor.Kind != "config" {
		t.Errorf("the config's actor: %+v", ev.Actor)
	}
	// A CREATE shows what it set, without an arrow.
	if strings.Contains(lines[1], "→") || !strings.Contains(out, "id: ACME") {
		t.Errorf("a CREATE shows an arrow:\n%s", out)
	}
}
