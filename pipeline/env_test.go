package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/export"
	"enrollsftp/kyc"
)

// env is a ledger in a temporary folder with testdata/plans.yaml loaded and
// the clock fixed, as `process --now` runs.
type env struct {
	t    *testing.T
	l    *enroll.Ledger
	dir  string
	path string
	now  time.Time
	n    int
}

var discard = zerolog.Nop()

var testNow = time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	keys, err := enroll.NewKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ledger.db")
	l, err := enroll.Open(context.Background(), path, keys, kyc.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	e := &env{t: t, l: l, dir: dir, path: path, now: testNow}
	l.Now = func() time.Time { return e.now }
	f, err := os.Open("../testdata/plans.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := enroll.ParsePlans(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.LoadPlans(context.Background(), pf, enroll.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	return e
}

const censusHeader = "record_id,employer_id,employee_id,first_name,last_name,ssn,dob,address_line1,city,state,zip,email,employment_status,hire_date,termination_date\n"
const electionsHeader = "record_id,employer_id,employee_id,plan_code,action,coverage_tier,annual_amount,effective_date,end_date,reason,transfer_employer_id,transfer_employee_id,transfer_plan_code\n"

// process writes body to a new file and processes it.
func (e *env) process(typ enrollsftp.FileType, body string, opts ...func(*Options)) (Result, error) {
	e.t.Helper()
	e.n++
	name := fmt.Sprintf("%s_%03d.csv", typ, e.n)
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
	o := Options{Path: p, Type: typ, OutDir: filepath.Join(e.dir, "out"), ReceivedAt: e.now}
	for _, f := range opts {
		f(&o)
	}
	return ProcessFile(context.Background(), e.l, zerolog.Nop(), o)
}

// mustProcess processes a file and returns its ack rows keyed by line.
func (e *env) mustProcess(typ enrollsftp.FileType, body string, opts ...func(*Options)) (Result, map[string]ackRow) {
	e.t.Helper()
	res, err := e.process(typ, body, opts...)
	if err != nil {
		e.t.Fatalf("process: %v", err)
	}
	return res, readAck(e.t, res.Files.Ack)
}

type ackRow struct{ action, status, codes, message, perPeriod string }

func readAck(t *testing.T, path string) map[string]ackRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ackRow{}
	for _, r := range recs[1:] {
		out[r[0]] = ackRow{action: r[4], status: r[5], codes: r[6], message: r[7], perPeriod: r[8]}
	}
	return out
}

// want checks one ack line's status and codes (and per-period amount if given).
func want(t *testing.T, ack map[string]ackRow, line, status, codes string, perPeriod ...string) {
	t.Helper()
	got, ok := ack[line]
	if !ok {
		t.Fatalf("line %s: no ack row", line)
	}
	if got.status != status || got.codes != codes {
		t.Errorf("line %s: got %s %q (%s), want %s %q", line, got.status, got.codes, got.message, status, codes)
	}
	if len(perPeriod) > 0 && got.perPeriod != perPeriod[0] {
		t.Errorf("line %s: per_pay_period_amount got %q, want %q", line, got.perPeriod, perPeriod[0])
	}
}

func (e *env) lookup(employer, employee string) *enroll.Person {
	e.t.Helper()
	p, err := e.l.LookupEmployee(context.Background(), employer, employee)
	if err != nil {
		e.t.Fatalf("lookup %s/%s: %v", employer, employee, err)
	}
	return p
}

// A census with people fit for every plan type.
const baseCensus = censusHeader +
	"C1,ACME,E1,Ada,Lovelace,123-45-6780,1980-04-12,12 Main St,Boston,MA,02134,ada@example.com,ACTIVE,2020-01-06,\n" +
	"C2,ACME,E2,Bob,Builder,234-56-7891,1975-09-30,44 Oak Ave,Springfield,MA,01103,bob@example.com,ACTIVE,2019-03-01,\n" +
	"C3,ACME,E3,Cy,Young,078-05-1120,1990-02-02,9 Elm St,Worcester,MA,01608,,ACTIVE,2021-07-01,\n" +
	"C4,ACME,E4,Dee,Nossn,,,1 Pine Rd,Lowell,MA,01852,,ACTIVE,2022-02-01,\n" +
	"C5,ACME,E5,Old,Timer,345-67-8912,1965-06-15,7 Birch Ln,Cambridge,MA,02139,,ACTIVE,2010-05-01,\n" +
	"C6,GLOBEX,G1,Ada,Lovelace,123-45-6780,1980-04-12,12 Main St,Boston,MA,02134,ada@example.com,ACTIVE,2026-06-01,\n"

func (e *env) withCensus() {
	e.t.Helper()
	_, ack := e.mustProcess(enrollsftp.Census, baseCensus)
	for line, r := range ack {
		if r.status != enrollsftp.RecordAccepted {
			e.t.Fatalf("base census line %s: %+v", line, r)
		}
	}
}

func enrollFilter(status string) enroll.Filter { return enroll.Filter{Status: status} }

// regenerate writes a batch's outputs from the ledger into dir, as
// `enrollsftp ack ID` does.
func (e *env) regenerate(id, dir string) export.Files {
	e.t.Helper()
	var files export.Files
	err := e.l.View(context.Background(), id, func(v enroll.View) error {
		var err error
		files, err = export.Write(dir, v.Batch, export.Records(v.Each))
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return files
}
