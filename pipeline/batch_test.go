package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/ingest"
	"enrollsftp/schemas"
	"enrollsftp/validate"
)

func TestResendIsIdempotent(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	first := electionsHeader + "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n" +
		",ACME,E1,COM1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n" +
		"L3,ACME,E4,FSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,\n"
	_, ack := e.mustProcess(enrollsftp.Elections, first)
	want(t, ack, "2", "ACCEPTED", "")
	want(t, ack, "3", "ACCEPTED", "")
	want(t, ack, "4", "REJECTED", "REQUIRED_FIELD_MISSING")

	// The same bytes again: refused whole, nothing changes.
	before, _ := e.l.Batches(context.Background(), enroll.Filter{})
	e.n-- // same file name too
	if _, err := e.process(enrollsftp.Elections, first); !errors.Is(err, enroll.ErrAlreadyProcessed) {
		t.Fatalf("same bytes: got %v, want ErrAlreadyProcessed", err)
	}
	if after, _ := e.l.Batches(context.Background(), enroll.Filter{}); len(after) != len(before) {
		t.Fatalf("a refused file added a batch")
	}

	// Resent with changes: applied records are DUPLICATE (with or without a
	// record_id), a reused record_id is refused, a fixed record applies.
	_, ack = e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		",ACME, E1 ,COM1,ENROLL,individual,1300,01/01/2026,,new_hire,,,\n"+
		"L3,ACME,E5,FSA1,ENROLL,INDIVIDUAL,100.00,2026-01-01,,NEW_HIRE,,,\n")
	want(t, ack, "2", "DUPLICATE", "")
	want(t, ack, "3", "DUPLICATE", "") // no record_id: matched on normalized content (1300 = 1300.00)
	want(t, ack, "4", "ACCEPTED", "")  // rejected before, fixed now
	_, ack = e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E5,FSA1,ENROLL,INDIVIDUAL,900.00,2026-01-01,,NEW_HIRE,,,\n")
	want(t, ack, "2", "REJECTED", "RECORD_ID_REUSED")
	if p := e.lookup("ACME", "E2"); len(p.Enrollments) != 1 || len(p.Enrollments[0].Elections) != 1 {
		t.Errorf("a DUPLICATE changed the ledger: %+v", p.Enrollments)
	}
}

func TestDuplicateRecordInFile(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L1,ACME,E1,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n")
	want(t, ack, "2", "ACCEPTED", "")
	want(t, ack, "3", "REJECTED", "DUPLICATE_RECORD_IN_FILE")
}

func TestEmployerNotAuthorized(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,GLOBEX,G1,GFSA,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n",
		func(o *Options) { o.Employers = []string{"ACME"} })
	want(t, ack, "2", "ACCEPTED", "")
	want(t, ack, "3", "REJECTED", "EMPLOYER_NOT_AUTHORIZED")
}

func TestHeldBatchAppliesNothing(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	res, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E1,FSA1,ENROLL,INDIVIDUAL,bad,2026-01-01,,NEW_HIRE,,,\n"+
		"L3,ACME,E1,FSA1,ENROLL,INDIVIDUAL,1.00,2026-01-01,,BAD,,,\n",
		func(o *Options) { o.MaxRejectRatio = 0.5 })
	if res.Batch.Status != enrollsftp.BatchHeld || res.Batch.Rows != 3 || res.Batch.Rejected != 2 {
		t.Fatalf("got %s rows=%d rejected=%d, want HELD 3 2", res.Batch.Status, res.Batch.Rows, res.Batch.Rejected)
	}
	want(t, ack, "2", "ACCEPTED", "") // what it would do
	want(t, ack, "3", "REJECTED", "INVALID_AMOUNT")
	if p := e.lookup("ACME", "E2"); len(p.Enrollments) != 0 {
		t.Errorf("a HELD batch applied %d enrollments", len(p.Enrollments))
	}
}

func TestFileLevelRejections(t *testing.T) {
	valid := "L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"
	tests := []struct {
		name, body, codes string
	}{
		{"empty", "", "FILE_EMPTY"},
		{"missing column", "record_id,employer_id,employee_id,action\n", "HEADER_MISSING_COLUMN"},
		{"unknown and duplicate columns", strings.TrimSuffix(electionsHeader, "\n") + ",plan,colour\n" + valid,
			"HEADER_DUPLICATE_COLUMN;HEADER_UNKNOWN_COLUMN"},
		// Rows before the bad bytes were valid; they must not be applied.
		{"Latin-1 after valid rows", electionsHeader + valid + "L2,ACME,E1,FSA1,ENROLL,INDIVIDUAL,1.00,2026-01-01,,Caf\xe9,,,\n", "FILE_ENCODING"},
		{"UTF-16", "\xff\xfer\x00e\x00", "FILE_ENCODING"},
		{"unterminated quote", electionsHeader + valid + "L2,\"ACME,E1\n", "FILE_MALFORMED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.withCensus()
			res, err := e.process(enrollsftp.Elections, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			b := res.Batch
			if b.Status != enrollsftp.BatchRejected || b.FileErrors.Codes() != tt.codes || b.Rows != 0 {
				t.Fatalf("got %s %q rows=%d, want REJECTED %q", b.Status, b.FileErrors.Codes(), b.Rows, tt.codes)
			}
			if p := e.lookup("ACME", "E2"); len(p.Enrollments) != 0 {
				t.Errorf("a rejected file applied %d enrollments", len(p.Enrollments))
			}
			body, err := os.ReadFile(res.Files.Errors)
			if err != nil {
				t.Fatalf("error file: %v", err)
			}
			if !strings.Contains(string(body), tt.codes) {
				t.Errorf("error file lacks %s:\n%s", tt.codes, body)
			}
		})
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	res, ack := e.mustProcess(enrollsftp.Census, baseCensus, func(o *Options) { o.DryRun = true })
	if res.Batch.Accepted != 6 {
		t.Fatalf("dry run: got %d accepted, want 6", res.Batch.Accepted)
	}
	want(t, ack, "2", "ACCEPTED", "")
	if list, _ := e.l.Batches(context.Background(), enroll.Filter{}); len(list) != 0 {
		t.Errorf("dry run stored %d batches", len(list))
	}
	if _, err := e.l.LookupEmployee(context.Background(), "ACME", "E1"); !errors.Is(err, enroll.ErrPersonNotFound) {
		t.Errorf("dry run stored a person: %v", err)
	}
	// And the real run afterwards is not refused as already processed.
	e.n--
	if _, err := e.process(enrollsftp.Census, baseCensus); err != nil {
		t.Errorf("real run after a dry run: %v", err)
	}
}

func TestRegeneratedOutputsAreByteIdentical(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	res, _ := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"L1,ACME,E3,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"L2,ACME,E2,FSA1,ENROLL,INDIVIDUAL,oops,2026-01-01,,NEW_HIRE,,,\n")
	e.now = e.now.AddDate(0, 3, 0) // months later
	files := e.regenerate(res.Batch.ID, filepath.Join(e.dir, "again"))
	for _, pair := range [][2]string{{res.Files.Ack, files.Ack}, {res.Files.Summary, files.Summary}, {res.Files.Errors, files.Errors}} {
		a, _ := os.ReadFile(pair[0])
		b, _ := os.ReadFile(pair[1])
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s regenerated differently:\n%s\n---\n%s", filepath.Base(pair[0]), a, b)
		}
	}
}

func TestNoPlaintextSSNOrDOBAtRestOrInOutputs(t *testing.T) {
	e := newEnv(t)
	res, _ := e.mustProcess(enrollsftp.Census, baseCensus+"C9,ACME,E9,Bad,Row,123-45-6789,1999-99-99,1 A St,Boston,MA,02134,,ACTIVE,,\n")
	// The content hash of a row covers its SSN; stored unkeyed it could be
	// reversed by trying every SSN. Only a keyed form may be in the ledger.
	census, _ := schemas.Load("census.v1", "")
	row := ingest.CensusRow{RecordID: "C1", EmployerID: "ACME", EmployeeID: "E1", FirstName: "Ada", LastName: "Lovelace",
		SSN: "123-45-6780", DOB: "1980-04-12", AddressLine1: "12 Main St", City: "Boston", State: "MA", ZIP: "02134",
		Email: "ada@example.com", EmploymentStatus: "ACTIVE", HireDate: "2020-01-06"}
	v, errs := validate.CensusRow(row, census, e.now)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	unkeyed := v.Fingerprint()
	keys, _ := enroll.NewKeys(bytes.Repeat([]byte{7}, 32)) // newEnv's key
	keyed := keys.Content(unkeyed)
	e.l.Close()
	var all []byte
	for _, suffix := range []string{"", "-wal"} {
		db, _ := os.ReadFile(e.path + suffix)
		all = append(all, db...)
	}
	if bytes.Contains(all, []byte(unkeyed)) {
		t.Error("the ledger holds an unkeyed content hash that covers an SSN")
	}
	if !bytes.Contains(all, []byte(keyed)) {
		t.Error("the keyed content hash of row C1 is not in the ledger: this test no longer checks what it means to")
	}
	for _, suffix := range []string{"", "-wal"} {
		db, err := os.ReadFile(e.path + suffix)
		if err != nil && suffix == "" {
			t.Fatal(err)
		}
		for _, ssn := range []string{"123-45-6780", "123456780", "234567891", "078051120"} {
			if bytes.Contains(db, []byte(ssn)) {
				t.Errorf("ledger%s holds SSN %s in plaintext", suffix, ssn)
			}
		}
	}
	for _, f := range []string{res.Files.Ack, res.Files.Summary, res.Files.Errors} {
		body, _ := os.ReadFile(f)
		for _, secret := range []string{"123-45-6780", "123-45-6789", "1980-04-12", "1999-99-99", "1975-09-30"} {
			if bytes.Contains(body, []byte(secret)) {
				t.Errorf("%s contains %s", filepath.Base(f), secret)
			}
		}
	}
}

func TestAuditTrailIsAppendOnly(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	db, err := sql.Open("sqlite3", "file:"+e.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM audit_events WHERE entity = 'person' AND action = 'CREATE'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("person CREATE events: got %d (%v), want 5", n, err)
	}
	var leaked int
	db.QueryRow(`SELECT count(*) FROM audit_events WHERE after LIKE '%1980-04-12%' OR after LIKE '%123456780%' OR after LIKE '%123-45-6780%'`).Scan(&leaked)
	if leaked != 0 {
		t.Errorf("%d audit events hold a DOB or full SSN", leaked)
	}
	// The same census again under new record_ids changes nothing: no
	// employment or person is rewritten, no audit event is added for them.
	var before int
	db.QueryRow(`SELECT count(*) FROM audit_events WHERE entity IN ('person', 'employment')`).Scan(&before)
	e.mustProcess(enrollsftp.Census, strings.ReplaceAll(baseCensus, "\nC", "\nN"))
	var after int
	db.QueryRow(`SELECT count(*) FROM audit_events WHERE entity IN ('person', 'employment')`).Scan(&after)
	if after != before {
		t.Errorf("an unchanged census added %d person/employment audit events", after-before)
	}
	if _, err := db.Exec(`UPDATE audit_events SET action = 'X'`); err == nil {
		t.Error("audit_events accepted an UPDATE")
	}
	if _, err := db.Exec(`DELETE FROM audit_events`); err == nil {
		t.Error("audit_events accepted a DELETE")
	}
}

// A failure part-way (a read error, a crash) leaves the ledger as if the
// file had never been started: the whole file is one transaction.
func TestFailurePartWayLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	before, _ := e.l.Batches(context.Background(), enroll.Filter{})
	n := 0
	rows := func() (enroll.Record, error) {
		n++
		if n == 3 {
			return enroll.Record{}, io.ErrUnexpectedEOF
		}
		return enroll.Record{Line: n + 1, EmployerID: "ACME", EmployeeID: "E1", RecordID: "R" + string(rune('0'+n)),
			Action: "UPSERT", ContentHash: "h", Errors: enrollsftp.Errors{enrollsftp.Errorf(enrollsftp.InvalidZIP, "zip", "x")}}, nil
	}
	_, err := e.l.Process(context.Background(), enroll.File{Name: "x.csv", Type: enrollsftp.Census, SHA256: "abc"}, rows, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want the read error", err)
	}
	if after, _ := e.l.Batches(context.Background(), enroll.Filter{}); len(after) != len(before) {
		t.Errorf("a failed file left a batch behind")
	}
}

// Reloading unchanged plans (serve does it before every run) writes
// nothing; a changed plan is written once.
func TestReloadingPlansChangesOnlyWhatChanged(t *testing.T) {
	e := newEnv(t)
	f, _ := os.Open("../testdata/plans.yaml")
	pf, err := enroll.ParsePlans(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.l.LoadPlans(context.Background(), pf, enroll.Actor{Name: "test"})
	pf.Employers[0].Name = "Acme Renamed"
	e.l.LoadPlans(context.Background(), pf, enroll.Actor{Name: "test"})
	e.l.LoadPlans(context.Background(), pf, enroll.Actor{Name: "test"})
	db, _ := sql.Open("sqlite3", "file:"+e.path+"?mode=ro")
	defer db.Close()
	var acme, globex, plans int
	db.QueryRow(`SELECT version FROM employers WHERE id = 'ACME'`).Scan(&acme)
	db.QueryRow(`SELECT version FROM employers WHERE id = 'GLOBEX'`).Scan(&globex)
	db.QueryRow(`SELECT max(version) FROM plans`).Scan(&plans)
	if acme != 2 || globex != 1 || plans != 1 {
		t.Errorf("versions: ACME %d, GLOBEX %d, plans %d; want 2, 1, 1", acme, globex, plans)
	}
}
