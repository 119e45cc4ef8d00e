package enroll

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"enrollsftp/schemas"
)

// upTo is the ledger's migrations up to and including last.
func upTo(t *testing.T, last string) fs.FS {
	t.Helper()
	all := schemas.Migrations()
	names, err := fs.Glob(all, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{}
	for _, n := range names {
		if n > last {
			continue
		}
		b, err := fs.ReadFile(all, n)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = &fstest.MapFile{Data: b}
	}
	return m
}

// A ledger written before 0005 keeps its ack lines, idempotency ledger and
// KYC verdicts through the table rebuilds, and the look-ups still use an
// index.
func TestMigrationLeanWritesKeepsRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := sql.Open(driverName, "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	l := &Ledger{db: db}
	if err := l.migrate(ctx, upTo(t, "0004_dedup_index.sql")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO batches (id, file, type, sha256, size, status, received_at) VALUES ('b1', 'census_1.csv', 'census', 'ab', 10, 'APPLIED', '2026-11-01T00:00:00Z')`,
		`INSERT INTO persons (id, first_name, last_name, address_line1, city, state, zip, created_at, updated_at) VALUES ('p1', 'A', 'B', '1 Main St', 'Boston', 'MA', '02134', 'x', 'x')`,
		`INSERT INTO batch_records (batch_id, line, record_id, employer_id, employee_id, action, status, dedup_key) VALUES ('b1', 2, 'C1', 'ACME', 'E1', 'UPSERT', 'ACCEPTED', 'ACME' || char(31) || 'C1')`,
		`INSERT INTO applied_records (employer_id, file_type, idem_key, content_hash, batch_id, line) VALUES ('ACME', 'census', 'C1', 'h1', 'b1', 2)`,
		`INSERT INTO kyc_verifications (id, person_id, status, method, created_at) VALUES ('k1', 'p1', 'PASSED', 'RULES', 'x')`,
		`INSERT INTO audit_events (batch_id, line, entity, entity_id, action, at) VALUES ('b1', 2, 'person', 'p1', 'CREATE', 'x')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := l.migrate(ctx, schemas.Migrations()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		query, want, plan string
	}{
		// 0008 drops the dedup index: a candidate is confirmed by its line.
		{`SELECT dedup_key FROM batch_records WHERE batch_id = 'b1' AND line = 2`, "ACME\x1fC1", "PRIMARY KEY"},
		{`SELECT content_hash || batch_id || line FROM applied_records WHERE employer_id = 'ACME' AND file_type = 'census' AND idem_key = 'C1'`, "h1b12", "PRIMARY KEY"},
		{`SELECT id || status FROM kyc_verifications WHERE person_id = 'p1'`, "k1PASSED", "PRIMARY KEY"},
		{`SELECT entity_id || action FROM audit_events WHERE batch_id = 'b1'`, "p1CREATE", "audit_batch"},
	}
	for _, tt := range tests {
		var got string
		if err := db.QueryRow(tt.query).Scan(&got); err != nil || got != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.query, got, err, tt.want)
		}
		var plan strings.Builder
		rows, err := db.Query(`EXPLAIN QUERY PLAN ` + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "; ")
		}
		rows.Close()
		if !strings.Contains(plan.String(), tt.plan) {
			t.Errorf("%s: plan %q does not use %s", tt.query, plan.String(), tt.plan)
		}
	}
}
