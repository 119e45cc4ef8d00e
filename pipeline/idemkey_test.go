package pipeline

import (
	"database/sql"
	"strings"
	"testing"

	"enrollsftp"
)

// TestContentKeysInFileOrder: a record without a record_id is keyed by the
// employee id it hashed and then its content hash (so a vendor's file
// reads the idempotency ledger in key order), and the stored content hash
// is left to the key. A resend is DUPLICATE whether the ledger holds its
// keys in that form or in the older one (the hash alone), and a changed row
// is applied under the new form.
func TestContentKeysInFileOrder(t *testing.T) {
	body := censusHeader +
		",ACME,E1,Ann,Lee,123-45-6780,1980-04-12,12 Main St,Boston,MA,02134,ann@example.com,ACTIVE,2020-01-06,\n" +
		",ACME, e2 ,Bob,Ray,234-56-7891,1975-09-30,44 Oak Ave,Springfield,MA,01103,,ACTIVE,2019-03-01,\n" +
		",ACME,E3,Cy,,bad-ssn,1975-09-30,44 Oak Ave,Springfield,MA,01103,,ACTIVE,2019-03-01,\n"
	for _, legacy := range []bool{false, true} {
		e := newEnv(t)
		_, ack := e.mustProcess(enrollsftp.Census, body)
		want(t, ack, "2", enrollsftp.RecordAccepted, "")
		want(t, ack, "3", enrollsftp.RecordAccepted, "")
		db, err := sql.Open("sqlite3", "file:"+e.path+"?_busy_timeout=5000")
		if err != nil {
			t.Fatal(err)
		}
		keys := func() []string {
			rows, err := db.Query(`SELECT idem_key || '|' || content_hash FROM applied_records ORDER BY line`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var ks []string
			for rows.Next() {
				var k string
				rows.Scan(&k)
				ks = append(ks, k)
			}
			return ks
		}
		ks := keys()
		if len(ks) != 2 || !strings.HasPrefix(ks[0], "c:E1\x1f") || !strings.HasPrefix(ks[1], "c:e2\x1f") ||
			!strings.HasSuffix(ks[0], "|") || len(ks[0]) != len("c:E1\x1f|")+64 {
			t.Fatalf("keys %q, want c:EMPLOYEE\\x1fHASH with no content_hash", ks)
		}
		if legacy { // as an older version stored them
			if _, err := db.Exec(`UPDATE applied_records SET content_hash = substr(idem_key, instr(idem_key, char(31)) + 1),
				idem_key = 'hmac:' || substr(idem_key, instr(idem_key, char(31)) + 1)`); err != nil {
				t.Fatal(err)
			}
		}
		_, ack = e.mustProcess(enrollsftp.Census, body+
			",ACME,E1,Ann,Lee,123-45-6780,1980-04-12,9 Elm St,Boston,MA,02134,ann@example.com,ACTIVE,2020-01-06,\n")
		want(t, ack, "2", enrollsftp.RecordDuplicate, "")
		want(t, ack, "3", enrollsftp.RecordDuplicate, "")
		want(t, ack, "5", enrollsftp.RecordAccepted, "")
		if ks := keys(); len(ks) != 3 || !strings.HasPrefix(ks[2], "c:E1\x1f") {
			t.Errorf("legacy=%v: keys after the change %q", legacy, ks)
		}
		db.Close()
	}
}
