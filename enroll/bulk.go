package enroll

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// bulkRows is how many rows one multi-row INSERT carries. Each statement
// costs a fixed few microseconds in database/sql and cgo whatever its size,
// so the tables a file appends to and does not read back while it runs
// (the ack lines, the idempotency ledger, audit events, KYC verdicts) are
// written 64 rows at a time instead of one.
const bulkRows = 64

// bulk buffers rows bound for one table. Rows are appended in order and
// written in order, so audit events keep their sequence.
type bulk struct {
	table string
	cols  []string
	args  []any
	sql   map[int]string // rows per statement → its text
	// sortBy, when ≥ 0, is the column whose order the table's key follows
	// where the rows come in no order (a content hash): sortedRows are held
	// and written sorted by it, so each batch of inserts walks the b-tree
	// once in order instead of landing on random pages.
	sortBy int
}

// sortedRows is how many rows a sorted table holds before writing them.
const sortedRows = 4096

func newBulk(table string, cols ...string) *bulk {
	return &bulk{table: table, cols: cols, sql: map[int]string{}, sortBy: -1}
}

// sorted makes b hold its rows and write them in the order of column col.
func (b *bulk) sorted(col string) *bulk {
	b.sortBy = slices.Index(b.cols, col)
	return b
}

// sort orders the held rows by the sort column.
func (b *bulk) sort() {
	w, n := len(b.cols), b.rows()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) string { s, _ := b.args[i*w+b.sortBy].(string); return s }
	slices.SortStableFunc(idx, func(x, y int) int { return strings.Compare(key(x), key(y)) })
	out := make([]any, 0, len(b.args))
	for _, i := range idx {
		out = append(out, b.args[i*w:(i+1)*w]...)
	}
	b.args = out
}

func (b *bulk) add(args ...any) {
	if len(args) != len(b.cols) {
		panic(fmt.Sprintf("enroll: %s takes %d values, got %d", b.table, len(b.cols), len(args)))
	}
	b.args = append(b.args, args...)
}

func (b *bulk) rows() int { return len(b.args) / len(b.cols) }

// statement is the INSERT of n rows.
func (b *bulk) statement(n int) string {
	if q, ok := b.sql[n]; ok {
		return q
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(b.cols)), ", ") + ")"
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(one)
	}
	b.sql[n] = sb.String()
	return b.sql[n]
}

// writer is the set of buffers of one file's transaction. A row a rule
// rejects drops what it buffered (mark, undo).
type writer struct {
	// accounts, enrollments and elections are read back by later rows:
	// a statement naming one of those tables writes them first
	// (txn.readBack), so the buffers are only ever ahead of the look-ups
	// the chunk answers from memory (chunkAhead.open, .hsa).
	accounts, enrollments, elections *bulk
	audit, kyc, records, applied     *bulk
}

func newWriter() *writer {
	return &writer{
		accounts: newBulk("accounts", "id", "person_id", "plan_type", "created_at"),
		enrollments: newBulk("enrollments", "id", "person_id", "employment_id", "account_id", "plan_id",
			"plan_year_pk", "employer_id", "plan_code", "plan_type", "status", "detached", "effective_date", "end_date",
			"created_at", "updated_at"),
		elections: newBulk("elections", "id", "enrollment_id", "annual_cents", "coverage_tier", "per_period",
			"periods", "deducted_before", "status", "effective_date", "created_at"),
		audit: newBulk("audit_events", "batch_id", "line", "idem_key", "entity", "entity_id", "action",
			"before", "after", "at"),
		kyc: newBulk("kyc_verifications", "id", "person_id", "status", "codes", "method", "created_at"),
		records: newBulk("batch_records", "batch_id", "line", "record_id", "employer_id", "employee_id", "action",
			"status", "codes", "message", "per_period", "dedup_key", "raw"),
		applied: newBulk("applied_records", "employer_id", "file_type", "idem_key", "content_hash", "batch_id", "line").
			sorted("idem_key"),
	}
}

// recordsLine and recordsDedup are the places of line and dedup_key in
// a batch_records row.
const recordsLine, recordsDedup = 1, 10

// all is every buffer in the order they are written: an account before
// the enrollment drawing on it, an enrollment before its election.
func (w *writer) all() []*bulk {
	return append(w.readBack(), w.audit, w.kyc, w.records, w.applied)
}

// table is the read-back buffer of a table; nil without a writer.
func (w *writer) table(name string) *bulk {
	if w != nil {
		for _, b := range w.readBack() {
			if b.table == name {
				return b
			}
		}
	}
	return nil
}

// insert adds a row the current row creates: to buf, whose columns are the
// statement's, or, without a writer (KYC approval), at once.
func (t *txn) insert(buf *bulk, query string, args ...any) error {
	if buf == nil {
		_, err := t.exec(query, args...)
		return err
	}
	t.wrote = true
	buf.add(args...)
	return nil
}

// readBack is the buffers later rows read, in the order their foreign keys
// need: an account before the enrollment drawing on it, an enrollment
// before its election.
func (w *writer) readBack() []*bulk { return []*bulk{w.accounts, w.enrollments, w.elections} }

// mark is the buffers' lengths at a savepoint.
type mark [7]int

func (w *writer) mark() mark {
	var m mark
	for i, b := range w.all() {
		m[i] = len(b.args)
	}
	return m
}

// undo drops what was buffered since m (the savepoint rolled back).
//
// A read-back buffer may be shorter than its mark: a look-up of the row
// wrote what earlier rows had buffered (txn.readBack). The row itself had
// then buffered nothing there, or it could not be undone alone (t.wrote).
func (w *writer) undo(m mark) {
	for i, b := range w.all() {
		if len(b.args) <= m[i] {
			continue
		}
		clear(b.args[m[i]:])
		b.args = b.args[:m[i]]
	}
}

// flush writes the buffered rows: only whole statements of bulkRows
// unless all is set. It runs between rows, so what a row buffered is
// written only once the row is decided. The read-back buffers go all
// together or not at all, so no election is written before its enrollment.
func (t *txn) flush(all bool) error {
	if t.w == nil {
		return nil
	}
	full := all
	for _, b := range t.w.readBack() {
		full = full || b.rows() >= bulkRows
	}
	if full {
		if err := t.write(true, t.w.readBack()...); err != nil {
			return err
		}
	}
	return t.write(all, t.w.audit, t.w.kyc, t.w.records, t.w.applied)
}

// readBack writes the buffers later rows read, before a statement that
// reads or changes one of their tables.
func (t *txn) readBack(query string) error {
	if t.w == nil || !touchesReadBack(query) {
		return nil
	}
	for _, b := range t.w.readBack() {
		if b.rows() > 0 {
			return t.write(true, t.w.readBack()...)
		}
	}
	return nil
}

// touchesReadBack says whether a statement names a table whose new rows
// may still be buffered.
func touchesReadBack(query string) bool {
	for _, table := range []string{"accounts", "enrollments", "elections"} {
		if strings.Contains(query, table) {
			return true
		}
	}
	return false
}

// write writes the buffers' rows, in statements of bulkRows.
func (t *txn) write(all bool, bs ...*bulk) error {
	for _, b := range bs {
		width := len(b.cols)
		if b.sortBy >= 0 {
			if !all && b.rows() < sortedRows {
				continue
			}
			b.sort()
		}
		done := 0
		for left := b.rows() - done; left >= bulkRows || (all && left > 0); left = b.rows() - done {
			// A power of two: every size a statement is prepared for stays
			// cached, and read-back writes come in any size (seven shapes a
			// table, not sixty-four: each held ~60 KB of SQLite's memory).
			n := 1 << (bits.Len(uint(min(left, bulkRows))) - 1)
			if _, err := t.execStmt(b.statement(n), b.args[done*width:(done+n)*width]...); err != nil {
				return fmt.Errorf("enroll: write %s: %w", b.table, err)
			}
			done += n
		}
		if done > 0 {
			rest := copy(b.args, b.args[done*width:])
			clear(b.args[rest:])
			b.args = b.args[:rest]
		}
	}
	return nil
}
