package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Tests of what a compliance reviewer found missing or misleading in the
// audit trail: plans loads unaudited, a corrected DOB unseen, values that
// break the text table, names with control characters, UPDATE from
// nothing shown as a CREATE, time bounds compared as text, SSN-shaped
// employee numbers in lookup.

// inproc runs the CLI in dir with the ledger ledger.db and the clock at
// now, and wants the exit code want.
func inproc(t *testing.T, dir, now string, want int, args ...string) string {
	t.Helper()
	code, out, errs := runInProcess(t, dir, append([]string{"--ledger", "ledger.db", "--now", now}, args...)...)
	if code != want {
		t.Fatalf("enrollsftp %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

// shownEvent is the part of audit --json's events these tests read.
type shownEvent struct {
	At     string `json:"at"`
	Action string `json:"action"`
	Reason string `json:"reason"`
	Actor  struct {
		Kind     string `json:"kind"`
		Operator string `json:"operator"`
	} `json:"actor"`
	Entity struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"entity"`
}

func auditEvents(t *testing.T, out string) []shownEvent {
	t.Helper()
	var events []shownEvent
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return events
}

// changedPlans is testdata/plans.yaml with ACME's FSA limit lowered and
// its 2027 enrollment window extended.
func changedPlans(t *testing.T, plans string) string {
	t.Helper()
	out := strings.Replace(plans, "limits: {individual: 3400,", "limits: {individual: 3300,", 1)
	out = strings.Replace(out, "enrollment_start: 2026-11-01, enrollment_end: 2026-12-15", "enrollment_start: 2026-11-01, enrollment_end: 2026-12-31", 1)
	if strings.Count(out, "3300") != 1 || strings.Count(out, "enrollment_end: 2026-12-31") != 1 {
		t.Fatal("testdata/plans.yaml changed: fix changedPlans")
	}
	return out
}

const plansFilter = "employer,plan_year,plan"

// plans load is audited: what it creates or changes, by the operator
// (--by, else SUDO_USER or the OS user), with the reason and the file; a
// reload of the same file adds nothing. The config's plans file, loaded by
// run, is the actor "config".
func TestPlansLoadIsAudited(t *testing.T) {
	dir := t.TempDir()
	const now = "2026-11-19T11:00:00Z"
	// Read before runInProcess changes folder.
	plans := readFile(t, "../../testdata/plans.yaml")
	data, _ := filepath.Abs("../../testdata")
	cfg := demoConfig(t, "")
	writeFiles(t, dir, map[string]string{"plans.yaml": plans})
	t.Setenv("SUDO_USER", "carol")
	if out := inproc(t, dir, now, exitOK, "plans", "load", "plans.yaml"); !strings.Contains(out, "by carol: 13 created or changed") {
		t.Errorf("plans load: %q", out)
	}
	events := auditEvents(t, inproc(t, dir, now, exitOK, "audit", "--entity", plansFilter, "--json"))
	if len(events) != 13 {
		t.Fatalf("first load: %d events, want 13 (2 employers, 4 plan years, 7 plans)", len(events))
	}
	for _, e := range events {
		if e.Action != "CREATE" || e.Actor.Kind != "operator" || e.Actor.Operator != "carol" ||
			e.Reason != "plans load plans.yaml" || e.At != now {
			t.Errorf("first load's event: %+v", e)
		}
	}
	if events[0].Entity.Type != "employer" || events[0].Entity.ID != "ACME" || events[1].Entity.ID != "ACME/ACME-2026" {
		t.Errorf("first load's events start %+v, %+v", events[0], events[1])
	}

	if out := inproc(t, dir, now, exitOK, "plans", "load", "--by", "dana", "plans.yaml"); !strings.Contains(out, ": 0 created or changed") {
		t.Errorf("reload: %q", out)
	}
	writeFiles(t, dir, map[string]string{"plans.yaml": changedPlans(t, plans)})
	inproc(t, dir, "2026-11-21T09:00:00Z", exitOK, "plans", "load", "--by", "dana", "--reason", "2027 window\nextended", "plans.yaml")
	text := inproc(t, dir, now, exitOK, "audit", "--entity", "plan, plan_year", "--since", "2026-11-21")
	for _, want := range []string{
		"operator dana  UPDATE  plan_year ACME/ACME-2027  why: 2027 window extended (plans load plans.yaml)",
		"enrollment_end: 2026-12-15 → 2026-12-31",
		"operator dana  UPDATE  plan ACME/FSA1            why: 2027 window extended (plans load plans.yaml)",
		"limit_individual: 3400.00 → 3300.00",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("audit of the change lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "2026-11-21T09:00:00Z"); n != 2 {
		t.Errorf("the change is %d events, want 2:\n%s", n, text)
	}
	inproc(t, dir, now, exitUsage, "audit", "--entity", "plans")
	inproc(t, dir, now, exitUsage, "plans", "load", "--by", "config", "plans.yaml")
	inproc(t, dir, now, exitUsage, "plans", "load", "--by", "Config", "plans.yaml")

	// run loads the config's plans file: by "config", once.
	if code, _, errs := runHere(t, cfg, "run"); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}
	_, out, _ := runHere(t, cfg, "audit", "--entity", plansFilter, "--json")
	events = auditEvents(t, out)
	if len(events) != 13 || events[0].Actor.Kind != "config" ||
		events[0].Reason != "run loaded "+filepath.Join(data, "plans.yaml") {
		t.Fatalf("run's plans load: %d events, first %+v", len(events), events[0])
	}
	runHere(t, cfg, "run")
	if _, out, _ := runHere(t, cfg, "audit", "--entity", plansFilter, "--json"); len(auditEvents(t, out)) != 13 {
		t.Errorf("a second run with the same plans file added events")
	}
	if _, out, _ := runHere(t, cfg, "audit", "--entity", "employer"); !regexp.MustCompile(`(?m)^2026-11-15T02:00:00Z  config +CREATE +employer ACME`).MatchString(out) {
		t.Errorf("audit text of run's load:\n%s", out)
	}
}

// --by is one printable line of at most 100 characters, and not the
// config's name; a reason may break lines (kept as spaces) but holds no
// other control character. Each refusal is a usage error before anything
// is opened.
func TestOperatorNamesAreOneLine(t *testing.T) {
	dir := t.TempDir()
	const now = "2026-11-19T11:00:00Z"
	plans := readFile(t, "../../testdata/plans.yaml") // before runInProcess changes folder
	long := strings.Repeat("a", 101)
	refusal := regexp.MustCompile(`^enrollsftp: [a-z ]+: (--by .*(holds|characters long|reserved)|--reason holds).*\n$`)
	for _, cmd := range [][]string{
		{"kyc", "approve", "--person", "p1"},
		{"rerun", "0190"},
		{"plans", "load", "plans.yaml"},
	} {
		for _, bad := range [][]string{
			{"--by", "alice\nbob", "--reason", "r"},
			{"--by", "alice\rbob", "--reason", "r"},
			{"--by", "alice\tbob", "--reason", "r"},
			{"--by", "al\x1b[2Kice", "--reason", "r"},
			{"--by", "alice\u202e", "--reason", "r"},
			{"--by", long, "--reason", "r"},
			{"--by", "config", "--reason", "r"},
			{"--by", "alice", "--reason", "ok \x1b[31m red"},
			{"--by", "alice", "--reason", "nul\x00"},
		} {
			args := append(append([]string{}, cmd...), bad...)
			code, out, errs := runInProcess(t, dir, append([]string{"--ledger", "ledger.db", "--now", now}, args...)...)
			if code != exitUsage || !refusal.MatchString(errs) {
				t.Errorf("%q: exit %d, want 2 naming the flag\nstdout %q\nstderr %q", args, code, out, errs)
			}
		}
	}
	t.Setenv("SUDO_USER", "eve\nroot")
	if code, _, errs := runInProcess(t, dir, "--ledger", "ledger.db", "plans", "load", "plans.yaml"); code != exitUsage ||
		!strings.Contains(errs, "OS user") {
		t.Errorf("a SUDO_USER with a line break: exit %d, %q", code, errs)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused commands left %v", entries)
	}
	// A 100-character name and a reason with line breaks are fine.
	os.Unsetenv("SUDO_USER")
	writeFiles(t, dir, map[string]string{"plans.yaml": plans})
	inproc(t, dir, now, exitOK, "plans", "load", "--by", long[:100], "--reason", "line one\nline two\ttabbed", "plans.yaml")
	events := auditEvents(t, inproc(t, dir, now, exitOK, "audit", "--entity", "employer", "--json"))
	if len(events) != 2 || events[0].Actor.Operator != long[:100] || events[0].Reason != "line one line two tabbed (plans load plans.yaml)" {
		t.Errorf("events: %+v", events)
	}
}

// The text outputs keep one value on one line: a quoted multi-line
// address, a name with a line break, a file name with one. An UPDATE
// from nothing reads "- → value"; a corrected DOB reads "dob: changed".
// lookup masks an SSN-shaped employee number in text and JSON.
func TestTextOutputsKeepValuesOnOneLine(t *testing.T) {
	dir := t.TempDir()
	const now = "2026-11-19T11:00:00Z"
	data, _ := filepath.Abs("../../testdata")
	inproc(t, dir, now, exitOK, "plans", "load", "--by", "ops", filepath.Join(data, "plans.yaml"))
	inproc(t, dir, now, exitOK, "process", "--type", "census", filepath.Join(data, "bad", "51_census_quoted_multiline_address.csv"))
	const header = "record_id,employer_id,employee_id,first_name,last_name,ssn,dob,address_line1,city,state,zip,email,employment_status,hire_date,termination_date\n"
	name := "census_\nTIME 2026-01-01 operator x.csv"
	writeFiles(t, dir, map[string]string{name: header +
		"M1a,ACME,E1,Ada,Lovelace,,1980-04-12,\"12 Main St\nApt 4\",Boston,MA,02134,ada@example.com,ACTIVE,2020-01-06,\n" +
		"S1,ACME,456789123,\"Eve\nperson 0000: forged\",Smith,,,1 Pine Rd,Lowell,MA,01852,,ACTIVE,2020-01-06,\n"})
	inproc(t, dir, "2026-11-19T12:00:00Z", exitOK, "process", "--type", "census", name)
	writeFiles(t, dir, map[string]string{"census_dob.csv": header +
		"M1b,ACME,E1,Ada,Lovelace,,1980-04-13,\"12 Main St\nApt 4\",Boston,MA,02134,ada@example.com,ACTIVE,2020-01-06,\n"})
	inproc(t, dir, "2026-11-19T13:00:00Z", exitOK, "process", "--type", "census", "census_dob.csv")

	startsEvent := regexp.MustCompile(`^(TIME  |2026-11-19T1[0-9]:00:00Z  |  +\S)`)
	checkLines := func(name, out string) {
		t.Helper()
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if !startsEvent.MatchString(l) {
				t.Errorf("%s: a line neither starts an event nor continues one: %q\n%s", name, l, out)
			}
		}
	}
	all := inproc(t, dir, now, exitOK, "audit")
	checkLines("audit", all)
	for _, want := range []string{
		`address_line1: 12 Main St\nApt 4`,
		`address_line1: 9 Elm St\nRear`,
		`first_name: Eve\nperson 0000: forged`,
		"email: - → ada@example.com",
		"has_dob: false → true",
		"dob: - → ****-**-**",
		"dob: changed",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("audit lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "1980-04-1") || strings.Contains(all, "456789123") {
		t.Errorf("audit shows a DOB or an SSN-shaped number:\n%s", all)
	}

	text := inproc(t, dir, now, exitOK, "lookup", "--employer", "ACME", "--employee", "456789123")
	if strings.Contains(text, "456789123") || !strings.Contains(text, "employment ACME/***-**-9123 ACTIVE") ||
		!strings.Contains(text, `: Eve\nperson 0000: forged Smith  ssn -`) || strings.Count(text, "\n") != 2 {
		t.Errorf("lookup text:\n%s", text)
	}
	js := inproc(t, dir, now, exitOK, "lookup", "--employer", "ACME", "--employee", "456789123", "--json")
	if strings.Contains(js, "456789123") || !strings.Contains(js, `"employee_id": "***-**-9123"`) {
		t.Errorf("lookup --json:\n%s", js)
	}

	var list []batchJSON
	if err := json.Unmarshal([]byte(inproc(t, dir, now, exitOK, "batches", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	show := inproc(t, dir, now, exitOK, "batch", "show", list[1].BatchID)
	if !strings.Contains(show, `census_\nTIME 2026-01-01 operator x.csv`) || strings.Contains(show, "\nTIME") {
		t.Errorf("batch show of a file named with a line break:\n%s", show)
	}
	if batches := inproc(t, dir, now, exitOK, "batches"); strings.Count(batches, "\n") != 4 {
		t.Errorf("batches:\n%s", batches)
	}
}

// --since and --until bound the stored stamps (whole seconds, UTC):
// --until is included, to its second or, as a date, its whole day; an
// offset is converted.
func TestAuditTimeBounds(t *testing.T) {
	dir := t.TempDir()
	data, _ := filepath.Abs("../../testdata")
	inproc(t, dir, "2026-11-19T11:00:00.25Z", exitOK, "plans", "load", "--by", "ops", filepath.Join(data, "plans.yaml"))
	const now = "2026-12-01T00:00:00Z"
	for _, tt := range []struct {
		bounds []string
		want   int
	}{
		{[]string{"--since", "2026-11-19T11:00:00Z", "--until", "2026-11-19T11:00:00.5Z"}, 13},
		{[]string{"--since", "2026-11-19T11:00:00Z", "--until", "2026-11-19T11:00:00Z"}, 13},
		{[]string{"--since", "2026-11-19T11:00:00.9Z"}, 13},
		{[]string{"--until", "2026-11-19T12:00:00+01:00"}, 13},
		{[]string{"--since", "2026-11-19T12:00:00+01:00"}, 13},
		{[]string{"--until", "2026-11-19"}, 13},
		{[]string{"--since", "2026-11-19", "--until", "2026-11-19"}, 13},
		{[]string{"--until", "2026-11-19T10:59:59Z"}, 0},
		{[]string{"--until", "2026-11-18"}, 0},
		{[]string{"--since", "2026-11-19T11:00:01Z"}, 0},
	} {
		got := auditEvents(t, inproc(t, dir, now, exitOK, append([]string{"audit", "--json"}, tt.bounds...)...))
		if len(got) != tt.want {
			t.Errorf("audit %v: %d events, want %d", tt.bounds, len(got), tt.want)
		}
	}
	inproc(t, dir, now, exitUsage, "audit", "--since", "2026-11-19T11:00:01Z", "--until", "2026-11-19T11:00:00Z")
}
