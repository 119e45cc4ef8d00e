package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func init() {
	// -update rewrites the golden files; another test file of the package
	// may declare the flag too.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/golden")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// complianceRecord is a ledger built from testdata/e2e as an operator's
// month goes: each file on its own day, a KYC approval, a HELD file
// released, a rejected file rerun; a file received the day before the
// month, held, released in it; a file whose bytes were applied before,
// processed again under another name.
type complianceRecord struct {
	c                *cli
	person           string // ACME E003, approved by alice
	held, released   string // the HELD batch and its rerun --force
	rejected, rerun  string // a REJECTED batch and its plain rerun
	october          string // the HELD batch of October 31, released by dana in November
	persons, batches []string
}

// octoberElections is held on October 31 (no one is on file yet) and
// released in November.
const octoberElections = "record_id,employer_id,employee_id,plan_code,action,coverage_tier,annual_amount,effective_date,end_date,reason,transfer_employer_id,transfer_employee_id,transfer_plan_code\n" +
	"O-1,ACME,E009,FSA1,ENROLL,INDIVIDUAL,500.00,2026-01-01,,NEW_HIRE,,,\n" +
	"O-2,ACME,E404,FSA1,ENROLL,INDIVIDUAL,500.00,2026-01-01,,NEW_HIRE,,,\n"

// approveReason and releaseReason quote an SSN and a date of birth, as an
// operator might: neither may come out of the ledger.
const (
	approveReason = "passport checked; SSN 078-05-1120 and DOB 1990-02-02 read out by phone"
	releaseReason = "E009 was hired since (DOB 1988-08-08, SSN 123456789 checked)"
)

func buildComplianceRecord(t *testing.T) *complianceRecord {
	t.Helper()
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	data, _ := filepath.Abs("../../testdata")
	e2e := func(name string) string { return filepath.Join(data, "e2e", name) }
	at := func(now string) *cli { c.now = now; return c }
	r := &complianceRecord{c: c}

	october := filepath.Join(c.dir, "elections_acme_20261031.csv")
	if err := os.WriteFile(october, []byte(octoberElections), 0o600); err != nil {
		t.Fatal(err)
	}
	at("2026-10-31T02:00:00Z").run(3, "process", "--type", "elections", "--max-reject-ratio", "0.5", october)
	r.october = r.only("HELD")
	plans := readFile(t, filepath.Join(data, "plans.yaml"))
	at("2026-11-15T02:00:00Z").run(0, "plans", "load", "--by", "ops", filepath.Join(data, "plans.yaml"))
	c.run(0, "process", "--type", "census", e2e("census_acme_20261115.csv"))
	at("2026-11-15T02:10:00Z").run(0, "process", "--type", "elections", e2e("elections_acme_20261115.csv"))
	r.person = c.lookup("ACME", "E003")["person_id"].(string)
	at("2026-11-15T09:00:00Z").run(0, "kyc", "approve", "--person", r.person, "--by", "alice", "--reason", approveReason)
	at("2026-11-16T02:00:00Z").run(0, "process", "--type", "census", e2e("census_globex_20261116.csv"))
	at("2026-11-16T02:10:00Z").run(0, "process", "--type", "elections", e2e("elections_transfer_20261116.csv"))
	at("2026-11-17T02:00:00Z").run(0, "process", "--type", "census", e2e("census_acme_term_20261117.csv"))
	at("2026-11-18T02:00:00Z").run(0, "process", "--type", "census", e2e("census_acme_resend_20261118.csv"))
	at("2026-11-19T02:00:00Z").run(3, "process", "--type", "elections", "--max-reject-ratio", "0.5",
		e2e("elections_mostly_bad_20261119.csv"))
	r.held = r.onlyBut("HELD", r.october)
	at("2026-11-19T10:00:00Z").run(0, "rerun", r.held, "--force", "--by", "bob", "--reason", "vendor confirmed H-2 and H-3 are resent")
	at("2026-11-20T02:00:00Z").run(3, "process", "--type", "census", e2e("census_bad_header.csv"))
	r.rejected = r.only("REJECTED")
	at("2026-11-20T09:00:00Z").run(3, "rerun", r.rejected, "--by", "carol")
	// The plans change: ACME's FSA limit lowered, its 2027 window
	// extended; loading the same file again changes nothing.
	writeFiles(t, c.dir, map[string]string{"plans.yaml": changedPlans(t, plans)})
	at("2026-11-21T09:00:00Z").run(0, "plans", "load", "--by", "dana", "--reason", "2027 window extended", "plans.yaml")
	at("2026-11-21T09:30:00Z").run(0, "plans", "load", "--by", "dana", "plans.yaml")
	at("2026-11-21T10:00:00Z").run(0, "rerun", r.october, "--force", "--by", "dana", "--reason", releaseReason)
	// The census of the 15th again, under a new name: answered, not applied.
	resent := filepath.Join(c.dir, "census_acme_20261122.csv")
	if err := os.WriteFile(resent, []byte(readFile(t, e2e("census_acme_20261115.csv"))), 0o600); err != nil {
		t.Fatal(err)
	}
	at("2026-11-22T02:00:00Z").run(3, "process", "--type", "census", resent)

	var list []struct {
		BatchID      string `json:"batch_id"`
		SupersededBy string `json:"superseded_by"`
	}
	if err := json.Unmarshal([]byte(c.run(0, "batches", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		r.batches = append(r.batches, b.BatchID)
		switch b.BatchID {
		case r.held:
			r.released = b.SupersededBy
		case r.rejected:
			r.rerun = b.SupersededBy
		}
	}
	if r.released == "" || r.rerun == "" {
		t.Fatalf("the reruns did not supersede their batches: %+v", list)
	}
	// Everyone on file (GLOBEX G001 is ACME E001: one SSN).
	for _, e := range [][2]string{{"ACME", "E001"}, {"ACME", "E002"}, {"ACME", "E003"}, {"ACME", "E004"},
		{"ACME", "E006"}, {"ACME", "E008"}, {"ACME", "E009"}} {
		r.persons = append(r.persons, c.lookup(e[0], e[1])["person_id"].(string))
	}
	c.now = "2026-12-01T00:00:00Z"
	return r
}

// only is the one batch with a status that no rerun superseded.
func (r *complianceRecord) only(status string) string {
	r.c.t.Helper()
	return r.onlyBut(status, "")
}

// onlyBut is the one batch with a status that no rerun superseded, other
// than but.
func (r *complianceRecord) onlyBut(status, but string) string {
	r.c.t.Helper()
	var list []struct {
		BatchID      string `json:"batch_id"`
		SupersededBy string `json:"superseded_by"`
	}
	if err := json.Unmarshal([]byte(r.c.run(0, "batches", "--status", status, "--json")), &list); err != nil {
		r.c.t.Fatal(err)
	}
	var ids []string
	for _, b := range list {
		if b.SupersededBy == "" && b.BatchID != but {
			ids = append(ids, b.BatchID)
		}
	}
	if len(ids) != 1 {
		r.c.t.Fatalf("%s batches: %v, want one", status, list)
	}
	return ids[0]
}

var anyUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

// stableIDs replaces the random ids (UUIDv7) of an output by numbered ids
// of the same length, in order of first appearance, so that a golden file
// is stable and still shows which ids are the same; the text table keeps
// its alignment.
func stableIDs(b []byte) []byte {
	seen := map[string]string{}
	return anyUUID.ReplaceAllFunc(b, func(id []byte) []byte {
		s, ok := seen[string(id)]
		if !ok {
			s = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(seen)+1)
			seen[string(id)] = s
		}
		return []byte(s)
	})
}

// TestComplianceGolden compares `audit` and `report` with golden files in
// testdata/golden (rewritten with -update).
func TestComplianceGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	r := buildComplianceRecord(t)
	period := []string{"report", "--since", "2026-11-01", "--until", "2026-11-30"}
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"compliance_audit_person.txt", []string{"audit", "--person", r.person}},
		{"compliance_audit_person.json", []string{"audit", "--employer", "ACME", "--employee", "E003", "--json"}},
		{"compliance_audit_batch.txt", []string{"audit", "--batch", r.held}},
		{"compliance_audit_plans.txt", []string{"audit", "--entity", plansFilter}},
		{"compliance_report.html", append(period, "--format", "html")},
		{"compliance_report.csv", append(period, "--format", "csv")},
		{"compliance_report.json", append(period, "--format", "json")},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			r.c.t = t
			got := stableIDs([]byte(r.c.run(0, tt.args...)))
			path := filepath.Join("..", "..", "testdata", "golden", tt.golden+".golden")
			if updating() {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/enrollsftp -run TestComplianceGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", tt.golden, got, want)
			}
		})
	}

	// What happened in November is November's, whenever its file came:
	// the release of the file received on October 31 is among November's
	// operator actions, not among its files; October's report lists the
	// file, with its release.
	r.c.t = t
	nov := r.c.report("--since", "2026-11-01", "--until", "2026-11-30")
	var released []string
	for _, a := range nov.OperatorActions {
		if a.Action == "RELEASED" {
			released = append(released, a.By+" "+a.File+" "+a.ReceivedAt+" "+a.BatchID)
		}
	}
	if len(released) != 2 || released[1] != "dana elections_acme_20261031.csv 2026-10-31T02:00:00Z "+r.october ||
		nov.Totals.ReleasesInPeriod != 2 {
		t.Errorf("November's releases: %q, want bob's and dana's (of batch %s)", released, r.october)
	}
	for _, f := range nov.Files {
		if f.File == "elections_acme_20261031.csv" {
			t.Errorf("November lists the October file: %+v", f)
		}
	}
	if last := nov.Files[len(nov.Files)-1]; last.File != "census_acme_20261122.csv" || last.Status != "ALREADY_PROCESSED" ||
		last.EarlierBatchID == "" || nov.Totals.FilesAlreadyProcessed != 1 {
		t.Errorf("the resend of the 22nd: %+v", last)
	}
	oct := r.c.report("--since", "2026-10-01", "--until", "2026-10-31")
	if len(oct.Files) != 1 || oct.Files[0].File != "elections_acme_20261031.csv" || len(oct.Files[0].Reruns) != 1 ||
		oct.Files[0].Reruns[0].By != "dana" || len(oct.OperatorActions) != 0 {
		t.Errorf("October: %+v, want the file with dana's release and no action of October", oct)
	}
}

// dobs are the dates of birth in testdata/e2e, and the spellings a date
// could take in an output.
var dobs = []string{"1980-04-12", "1975-09-30", "1990-02-02", "1985-05-05", "1982-13-40", "1970-06-15", "1988-08-08"}

func dobForms(dob string) []string {
	y, m, d := dob[:4], dob[5:7], dob[8:]
	return []string{dob, y + m + d, m + "/" + d + "/" + y, m + "-" + d + "-" + y, d + "/" + m + "/" + y,
		strings.TrimLeft(m, "0") + "/" + strings.TrimLeft(d, "0") + "/" + y, y + "/" + m + "/" + d}
}

// Neither an SSN nor a date of birth comes out of any form of the report,
// the audit trail (of everyone, of each person, of each batch), lookup or
// batch show, though an operator's reason quoted both.
func TestComplianceOutputsHoldNoSSNOrDOB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	r := buildComplianceRecord(t)
	c := r.c
	outputs := map[string]string{}
	for _, f := range []string{"html", "csv", "json"} {
		outputs["report "+f] = c.run(0, "report", "--since", "2026-11-01", "--until", "2026-11-30", "--format", f)
		outputs["report october "+f] = c.run(0, "report", "--since", "2026-10-01", "--until", "2026-10-31", "--format", f)
		outputs["report local "+f] = c.run(0, "report", "--since", "2026-10-01", "--until", "2026-11-30", "--source", "local", "--format", f)
	}
	outputs["audit"] = c.run(0, "audit")
	outputs["audit --json"] = c.run(0, "audit", "--json")
	for _, p := range r.persons {
		outputs["audit --person "+p] = c.run(0, "audit", "--person", p)
		outputs["audit --person --json "+p] = c.run(0, "audit", "--person", p, "--json")
		outputs["lookup "+p] = c.run(0, "lookup", "--person", p)
		outputs["lookup --json "+p] = c.run(0, "lookup", "--person", p, "--json")
	}
	for _, b := range r.batches {
		outputs["audit --batch "+b] = c.run(0, "audit", "--batch", b, "--json")
		outputs["batch show "+b] = c.run(0, "batch", "show", b)
		outputs["batch show --json "+b] = c.run(0, "batch", "show", b, "--json")
	}
	// Ids and hashes are ours and random or hex: taken out, so that a run
	// of digits in them is not taken for an SSN.
	hashes := regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	ssn := regexp.MustCompile(`(^|[^0-9A-Za-z])\d{3}-?\d{2}-?\d{4}($|[^0-9A-Za-z])`)
	for name, out := range outputs {
		clean := hashes.ReplaceAllString(anyUUID.ReplaceAllString(out, "<id>"), "<sha256>")
		if m := ssn.FindString(clean); m != "" {
			t.Errorf("%s holds an SSN-shaped value %q", name, m)
		}
		for _, dob := range dobs {
			for _, form := range dobForms(dob) {
				if strings.Contains(clean, form) {
					t.Errorf("%s holds the date of birth %s as %q", name, dob, form)
				}
			}
		}
	}
	// The reasons were kept, masked, in every section that shows them.
	for name, want := range map[string]string{
		"report html":         "passport checked; SSN ***-**-1120 and DOB ****-**-** read out by phone",
		"report csv":          `dana,"E009 was hired since (DOB ****-**-**, SSN ***-**-6789 checked)"`,
		"report october html": "E009 was hired since (DOB ****-**-**, SSN ***-**-6789 checked)",
	} {
		if !strings.Contains(outputs[name], want) {
			t.Errorf("%s lacks the reason %q", name, want)
		}
	}
	if len(outputs) < 30 {
		t.Errorf("only %d outputs scanned", len(outputs))
	}
}

// `kyc approve` and `rerun` name their operator (--by, else SUDO_USER,
// else the OS user) and need a reason to approve or to force; batch show,
// lookup and audit say who did it and why.
func TestOperatorIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	data, _ := filepath.Abs("../../testdata")
	e2e := func(name string) string { return filepath.Join(data, "e2e", name) }
	c.run(0, "plans", "load", filepath.Join(data, "plans.yaml"))
	c.run(0, "process", "--type", "census", e2e("census_acme_20261115.csv"))
	c.run(0, "process", "--type", "elections", e2e("elections_acme_20261115.csv"))
	person := c.lookup("ACME", "E003")["person_id"].(string)

	// No reason: refused, nothing approved.
	c.run(2, "kyc", "approve", "--person", person)
	c.run(2, "kyc", "approve", "--person", person, "--reason", "  ", "--by", "alice")
	if en := enrollments(c.lookup("ACME", "E003"))[0]; en["status"] != "PENDING_KYC" {
		t.Fatalf("an approval without a reason applied the enrollment: %v", en)
	}

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SUDO_USER", "carol")
	c.now = "2026-11-15T09:00:00Z"
	if out := c.run(0, "kyc", "approve", "--person", person, "--reason", "documents seen"); !strings.Contains(out, "by carol") {
		t.Errorf("kyc approve under sudo: %q does not name carol", out)
	}
	os.Unsetenv("SUDO_USER") // restored by t.Setenv's cleanup
	c.now = "2026-11-16T09:00:00Z"
	c.run(0, "kyc", "approve", "--person", person, "--reason", "second look")
	c.now = "2026-11-17T09:00:00Z"
	c.run(0, "kyc", "approve", "--person", person, "--reason", "third look", "--by", "dana")

	var p struct {
		KYC struct {
			Status    string `json:"status"`
			Approvals []struct {
				ApprovedBy string `json:"approved_by"`
				ApprovedAt string `json:"approved_at"`
				Reason     string `json:"reason"`
			} `json:"approvals"`
		} `json:"kyc"`
	}
	if err := json.Unmarshal([]byte(c.run(0, "lookup", "--person", person, "--json")), &p); err != nil {
		t.Fatal(err)
	}
	wantBy := [][3]string{{"carol", "2026-11-15T09:00:00Z", "documents seen"},
		{me.Username, "2026-11-16T09:00:00Z", "second look"}, {"dana", "2026-11-17T09:00:00Z", "third look"}}
	if len(p.KYC.Approvals) != len(wantBy) {
		t.Fatalf("lookup approvals: %+v, want %v", p.KYC.Approvals, wantBy)
	}
	for i, w := range wantBy {
		if a := p.KYC.Approvals[i]; a.ApprovedBy != w[0] || a.ApprovedAt != w[1] || a.Reason != w[2] {
			t.Errorf("approval %d: got %+v, want %v", i, a, w)
		}
	}
	if out := c.run(0, "lookup", "--person", person); !strings.Contains(out, "kyc approved 2026-11-15T09:00:00Z by carol: documents seen") {
		t.Errorf("lookup does not show carol's approval:\n%s", out)
	}
	audit := c.run(0, "audit", "--person", person)
	for _, want := range []string{"operator carol", "why: documents seen", "operator " + me.Username, "operator dana"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit --person lacks %q:\n%s", want, audit)
		}
	}

	// A forced release needs a reason; the operator defaults as above.
	c.now = "2026-11-19T02:00:00Z"
	c.run(3, "process", "--type", "elections", "--max-reject-ratio", "0.5", e2e("elections_mostly_bad_20261119.csv"))
	r := &complianceRecord{c: c}
	held := r.only("HELD")
	c.run(2, "rerun", held, "--force")
	c.run(2, "rerun", held, "--force", "--by", "erin")
	if again := r.only("HELD"); again != held {
		t.Fatalf("a refused release changed the HELD batch: %s", again)
	}
	t.Setenv("SUDO_USER", "frank")
	c.now = "2026-11-19T10:00:00Z"
	c.run(0, "rerun", held, "--force", "--reason", "vendor confirmed")

	var shown struct {
		SupersededBy string      `json:"superseded_by"`
		Reruns       []rerunJSON `json:"reruns"`
	}
	if err := json.Unmarshal([]byte(c.run(0, "batch", "show", held, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	want := rerunJSON{Action: "RELEASED", At: "2026-11-19T10:00:00Z", By: "frank", Reason: "vendor confirmed",
		BatchID: held, RerunBatchID: shown.SupersededBy}
	if len(shown.Reruns) != 1 || shown.Reruns[0] != want {
		t.Errorf("batch show --json of the held batch: reruns %+v, want %+v", shown.Reruns, want)
	}
	text := c.run(0, "batch", "show", held)
	if !regexp.MustCompile(`released_by\s+2026-11-19T10:00:00Z RELEASED by frank: vendor confirmed`).MatchString(text) {
		t.Errorf("batch show of the held batch:\n%s", text)
	}
	if text := c.run(0, "batch", "show", shown.SupersededBy); !regexp.MustCompile(`rerun_of\s+.*by frank: vendor confirmed \(batch ` + held).MatchString(text) {
		t.Errorf("batch show of the release:\n%s", text)
	}
}

// audit and report read only: on a missing ledger they say so (exit 2)
// and create nothing; report writes --out with mode 0600, and refuses
// what it cannot do before reading anything.
func TestComplianceCommandsReadOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	c.run(2, "audit")
	c.run(2, "audit", "--person", "x")
	c.run(2, "report", "--since", "2026-11-01", "--until", "2026-11-30")
	if entries, _ := os.ReadDir(c.dir); len(entries) != 0 {
		t.Fatalf("a read-only command created %v", entries)
	}
	data, _ := filepath.Abs("../../testdata")
	c.run(0, "plans", "load", filepath.Join(data, "plans.yaml"))
	for _, args := range [][]string{
		{"report", "--since", "2026-11-01"},                          // no --until
		{"report", "--since", "2026-11-30", "--until", "2026-11-01"}, // backwards
		{"report", "--since", "yesterday", "--until", "2026-11-01"},  // not a date
		{"report", "--since", "2026-11-01", "--until", "2026-11-30", "--format", "pdf"},
		{"audit", "--employer", "ACME"}, // no --employee
		{"audit", "--batch", "nope"},    // unknown batch
	} {
		c.run(2, args...)
	}
	c.run(1, "audit", "--employer", "ACME", "--employee", "NOPE") // as lookup: not on file
	out := filepath.Join(c.dir, "q4.html")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := c.run(0, "report", "--since", "2026-11-01", "--until", "2026-11-30", "--out", out); got != "" {
		t.Errorf("report --out wrote to stdout: %q", got)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("report --out: mode %v, want 0600", st.Mode().Perm())
	}
	if b := readFile(t, out); !strings.HasPrefix(b, "<!DOCTYPE html>") || !strings.Contains(b, "No file was received in this period.") {
		t.Errorf("report --out wrote %.200q", b)
	}
}
