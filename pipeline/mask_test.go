package pipeline

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrollsftp"
)

// An SSN may come in any column of an elections file and in any spelling;
// none may reach an output or the ledger's bytes (WAL included). Each
// cell of the ack is masked once, where it is stored, so regenerated
// outputs stay the same bytes.
func TestNoSSNInAnyColumnOrSpellingAtRestOrInOutputs(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	// Nine-digit runs used nowhere else in the tests, each with the
	// spellings it appears in below.
	secrets := map[string][]string{
		"123456701": {"123-45-6701"},                // action
		"234567802": {"234.56.7802"},                // record_id, accepted
		"345678903": {"345–67–8903"},                // employee_id (en dash)
		"456789014": {"４５６－７８－９０１４", "456－78－9014"}, // reason (full-width)
		"567890125": {"567—89—0125"},                // reason (em dash)
		"678901236": {"678/90/1236"},                // transfer_employee_id
		"789012347": {"789 01 2347"},                // record_id, rejected
		"890123458": {"890123458"},                  // employer_id
	}
	body := electionsHeader +
		"L1,ACME,E2,FSA1,123-45-6701,INDIVIDUAL,1200.00,2026-01-01,,NEW_HIRE,,,\n" +
		"234.56.7802,ACME,E2,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n" +
		"L3,ACME,345–67–8903,FSA1,ENROLL,INDIVIDUAL,1200.00,2026-01-01,,NEW_HIRE,,,\n" +
		"L4,ACME,E1,FSA1,ENROLL,INDIVIDUAL,1200.00,2026-01-01,,call ４５６－７８－９０１４ or 456－78－9014,,,\n" +
		"L5,ACME,E1,FSA1,ENROLL,INDIVIDUAL,1200.00,2026-01-01,,see 567—89—0125,,,\n" +
		"L6,ACME,E1,FSA1,TRANSFER,INDIVIDUAL,1200.00,2026-01-01,,NEW_HIRE,GLOBEX,678/90/1236,FSA1\n" +
		"789 01 2347,ACME,E1,FSA1,ENROLL,INDIVIDUAL,oops,2026-01-01,,NEW_HIRE,,,\n" +
		"L8,890123458,E1,FSA1,ENROLL,INDIVIDUAL,1200.00,2026-01-01,,NEW_HIRE,,,\n"
	res, ack := e.mustProcess(enrollsftp.Elections, body)
	if got := ack["3"].status; got != enrollsftp.RecordAccepted {
		t.Errorf("line 3 (an SSN-shaped record_id): %+v, want ACCEPTED", ack["3"])
	}
	for _, line := range []string{"2", "4", "5", "6", "7", "8", "9"} {
		if got := ack[line].status; got != enrollsftp.RecordRejected {
			t.Errorf("line %s: %+v, want REJECTED", line, ack[line])
		}
	}
	if res.Files.Errors == "" {
		t.Fatal("no error file: the rejected cells are not checked")
	}
	// The same record again is a duplicate, not a second application; and
	// a record_id that masks alike is another record, not a reuse: the
	// stored (keyed) record_id still tells them apart.
	_, again := e.mustProcess(enrollsftp.Elections, electionsHeader+
		"234.56.7802,ACME,E2,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"+
		"999-56-7802,ACME,E1,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n")
	want(t, again, "2", enrollsftp.RecordDuplicate, "")
	want(t, again, "3", enrollsftp.RecordAccepted, "")
	files := e.regenerate(res.Batch.ID, filepath.Join(e.dir, "again"))
	e.l.Close()

	check := map[string][]byte{}
	for _, f := range []string{res.Files.Ack, res.Files.Summary, res.Files.Errors, files.Ack, files.Errors} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(e.dir, f)
		check[rel] = b
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(e.path + suffix)
		if err != nil && suffix == "" {
			t.Fatal(err)
		}
		check["ledger"+suffix] = b
	}
	ack1, _ := os.ReadFile(res.Files.Ack)
	ack2, _ := os.ReadFile(files.Ack)
	if !bytes.Equal(ack1, ack2) {
		t.Errorf("the regenerated ack differs:\n%s\n---\n%s", ack1, ack2)
	}
	if !bytes.Contains(ack1, []byte("***-**-6701")) || !bytes.Contains(ack1, []byte("***-**-7802")) {
		t.Errorf("the ack does not show the masked cells:\n%s", ack1)
	}
	for name, b := range check {
		for digits, spellings := range secrets {
			for _, s := range append([]string{digits, digits[:3] + "-" + digits[3:5] + "-" + digits[5:], fullWidth(digits)}, spellings...) {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds SSN %s as %q", name, digits, s)
				}
			}
		}
	}
}

func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + '０'
		}
		return r
	}, s)
}

// A ledger written before record_ids were keyed holds an SSN-shaped one as
// sent; the same record re-sent afterwards is still found as a replay.
func TestReplayOfAnSSNShapedRecordIDStoredAsSent(t *testing.T) {
	e := newEnv(t)
	e.withCensus()
	row := "123-45-6702,ACME,E2,HSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n"
	_, ack := e.mustProcess(enrollsftp.Elections, electionsHeader+row)
	want(t, ack, "2", enrollsftp.RecordAccepted, "")
	db, err := sql.Open("sqlite3", "file:"+e.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE applied_records SET idem_key = '123-45-6702' WHERE idem_key LIKE 'hmac:key:%'`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d applied records with a keyed record_id, want 1", n)
	}
	_, again := e.mustProcess(enrollsftp.Elections, electionsHeader+"\n"+row) // other bytes, same record
	want(t, again, "3", enrollsftp.RecordDuplicate, "")
}
