package enroll

import (
	"fmt"
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
	audit, kyc, records, applied *bulk
}

func newWriter() *writer {
	return &writer{
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

func (w *writer) all() []*bulk { return []*bulk{w.audit, w.kyc, w.records, w.applied} }

// mark is the buffers' lengths at a savepoint.
type mark [4]int

func (w *writer) mark() mark {
	var m mark
	for i, b := range w.all() {
		m[i] = len(b.args)
	}
	return m
}

// undo drops what was buffered since m (the savepoint rolled back).
func (w *writer) undo(m mark) {
	for i, b := range w.all() {
		clear(b.args[m[i]:])
		b.args = b.args[:m[i]]
	}
}

// flush writes the buffered rows: only whole statements of bulkRows
// unless all is set. It runs between rows, so what a row buffered is
// written only once the row is decided.
func (t *txn) flush(all bool) error {
	if t.w == nil {
		return nil
	}
	for _, b := range t.w.all() {
		width := len(b.cols)
		if b.sortBy >= 0 {
			if !all && b.rows() < sortedRows {
				continue
			}
			b.sort()
		}
		done := 0
		for left := b.rows() - done; left >= bulkRows || (all && left > 0); left = b.rows() - done {
			n := min(left, bulkRows)
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
