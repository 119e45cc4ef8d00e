package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrollsftp"
)

// TestLiteralQuoteInUnquotedField checks SPEC §4: a quote inside a field
// that does not start with one is text, as spreadsheet tools and Python's
// csv read it. The row is ACCEPTED and stored as written, the record ID
// acked as written, and the rows around it are unaffected.
func TestLiteralQuoteInUnquotedField(t *testing.T) {
	e := newEnv(t)
	body := censusHeader +
		"C1,ACME,E1,Ada,Lovelace,,,12 Main St,Boston,MA,02134,,ACTIVE,2020-01-06,\n" +
		`C"2",ACME,E2,Ann "Annie",O"Brien,,,44 Oak Ave 5",Springfield,MA,01103,,ACTIVE,2019-03-01,` + "\n" +
		"C3,ACME,E3,Cy,Young,,,9 Elm St,Worcester,MA,01608,,ACTIVE,2021-07-01,\n"
	res, ack := e.mustProcess(enrollsftp.Census, body)
	if res.Batch.Status != enrollsftp.BatchApplied {
		t.Fatalf("batch: got %s %s, want APPLIED", res.Batch.Status, res.Batch.FileErrors.Messages())
	}
	for _, line := range []string{"2", "3", "4"} {
		want(t, ack, line, enrollsftp.RecordAccepted, "")
	}
	p := e.lookup("ACME", "E2")
	if p.FirstName != `Ann "Annie"` || p.LastName != `O"Brien` {
		t.Errorf("stored name: got %q %q, want %q %q", p.FirstName, p.LastName, `Ann "Annie"`, `O"Brien`)
	}
	cells := readCells(t, res.Files.Ack)
	if got := cells[2][1]; got != `C"2"` { // line 3's record_id, read back through encoding/csv
		t.Errorf("acked record_id: got %q, want %q", got, `C"2"`)
	}
}

// TestLongFieldIsCutEverywhere processes a first_name of 4 MiB as a quoted
// field over 65,536 short lines (no physical line is long): the row is
// rejected FIELD_TOO_LONG with the full length in its message, and no more
// than the cell's first 64 bytes and "…" reach the ledger, the ack or the
// error file — before, the whole cell was stored and sent back.
func TestLongFieldIsCutEverywhere(t *testing.T) {
	e := newEnv(t)
	line := strings.Repeat("x", 63) + "\n"
	field := strings.Repeat(line, 1<<16)
	body := censusHeader +
		`C1,ACME,E1,"` + field + `",Lovelace,,,12 Main St,Boston,MA,02134,,ACTIVE,2020-01-06,` + "\n" +
		"C2,ACME,E2,Bob,Builder,,,44 Oak Ave,Springfield,MA,01103,,ACTIVE,2019-03-01,\n"
	res, ack := e.mustProcess(enrollsftp.Census, body)
	if res.Batch.Status != enrollsftp.BatchApplied || res.Batch.Rejected != 1 || res.Batch.Accepted != 1 {
		t.Fatalf("batch: got %s, %d accepted, %d rejected, want APPLIED, 1, 1", res.Batch.Status, res.Batch.Accepted, res.Batch.Rejected)
	}
	want(t, ack, "2", enrollsftp.RecordRejected, "FIELD_TOO_LONG")
	want(t, ack, "65539", enrollsftp.RecordAccepted, "")
	if got, want := ack["2"].message, "first_name: is 4194304 bytes long; the limit is 256"; got != want {
		t.Errorf("ack message: got %q, want %q", got, want)
	}

	cut := line + "…" // the first 64 bytes
	var found bool
	for _, r := range readCells(t, res.Files.Errors) {
		if len(r) > 3 && r[1] == "ACME" && r[2] == "E1" {
			found = true
			if r[3] != cut {
				t.Errorf("errors.csv first_name: got %d bytes %.80q, want %q", len(r[3]), r[3], cut)
			}
		}
	}
	if !found {
		t.Errorf("errors.csv: no row for E1")
	}

	// Nothing holds more of the field than the cut: not the outputs, not
	// the ledger's files (the database and its write-ahead log), whether
	// written now or regenerated from the ledger.
	regen := e.regenerate(res.Batch.ID, t.TempDir())
	if err := e.l.Close(); err != nil {
		t.Fatal(err)
	}
	// The cut ends "\n…": a line end followed by more of the field is more
	// than the cut, as written or as JSON keeps it in the ledger.
	more := [][]byte{[]byte("\nxxxxxxxxxx"), []byte(`\nxxxxxxxxxx`)}
	paths := []string{res.Files.Ack, res.Files.Summary, res.Files.Errors, regen.Ack, regen.Errors}
	ledger, err := filepath.Glob(e.path + "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(paths, ledger...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range more {
			if bytes.Contains(data, m) {
				t.Errorf("%s holds more of the over-long field than its first 64 bytes", filepath.Base(p))
			}
		}
		if strings.Contains(p, "errors") && len(data) > 4096 {
			t.Errorf("%s: got %d bytes, want a small file", filepath.Base(p), len(data))
		}
	}
}
