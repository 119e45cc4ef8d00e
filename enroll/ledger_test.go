package enroll

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/schemas"
)

func testKeys(t *testing.T) *Keys {
	t.Helper()
	k, err := NewKeys(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// holdWrite opens a write transaction on the ledger file through a
// connection of its own, as another process would, and returns its end.
func holdWrite(t *testing.T, path string) (commit func()) {
	t.Helper()
	db, err := sql.Open(driverName, "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(context.Background(), `UPDATE batches SET error = 'held' WHERE 0`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	commit = func() {
		once.Do(func() {
			c.ExecContext(context.Background(), `COMMIT`)
			c.Close()
			db.Close()
		})
	}
	t.Cleanup(commit)
	return commit
}

// failedBatch stores a FAILED batch, the smallest thing a ledger holds.
func failedBatch(t *testing.T, l *Ledger, name string) string {
	t.Helper()
	b, err := l.RecordFailure(context.Background(), File{Name: name, Type: enrollsftp.Census, SHA256: name,
		ReceivedAt: time.Now()}, errors.New("test"))
	if err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// Opening an up-to-date ledger is a read: it neither waits for nor fails on
// another connection's open write transaction, and neither do the reads
// that follow (a batch list, a batch's view).
func TestOpenAndReadWhileAnotherConnectionWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l1, err := Open(ctx, path, testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := failedBatch(t, l1, "census_1.csv")
	l1.Close()

	holdWrite(t, path)
	start := time.Now()
	l2, err := Open(ctx, path, testKeys(t), nil)
	if err != nil {
		t.Fatalf("open while another connection writes: %v", err)
	}
	defer l2.Close()
	if list, err := l2.Batches(ctx, Filter{}); err != nil || len(list) != 1 {
		t.Fatalf("batches while another connection writes: %d, %v", len(list), err)
	}
	if err := l2.View(ctx, id, func(v View) error { return v.Each(func(enrollsftp.Outcome) error { return nil }) }); err != nil {
		t.Fatalf("view while another connection writes: %v", err)
	}
	// The daemon's /healthz check opens afresh, read-only.
	if err := Check(ctx, path); err != nil {
		t.Fatalf("check while another connection writes: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("open and reads took %v while another connection wrote, want no wait", took)
	}
}

// A write waits for the write lock up to LockWait and then fails naming
// the holder; with a longer wait it goes once the holder ends; an idle
// ledger (a serve between runs) holds nothing.
func TestWriteWaitsForTheWriteLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	open := func(wait time.Duration, cmd string) *Ledger {
		l, err := OpenWith(ctx, path, testKeys(t), nil, Options{LockWait: wait, Command: cmd})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	holder := open(0, "holder")
	id := failedBatch(t, holder, "census_1.csv")
	tx, err := holder.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}

	short := open(150*time.Millisecond, "short")
	start := time.Now()
	err = short.MarkDelivered(ctx, id, time.Now())
	took := time.Since(start)
	var busy *BusyError
	if !errors.Is(err, ErrLedgerBusy) || !errors.As(err, &busy) || busy.Held.Holder.PID != os.Getpid() ||
		busy.Held.Holder.Command != "holder" || !strings.Contains(err.Error(), "(holder, since ") {
		t.Fatalf("write while another holds the lock: %v; want ErrLedgerBusy naming pid %d (holder)", err, os.Getpid())
	}
	if took < 150*time.Millisecond || took > 2*time.Second {
		t.Errorf("gave up after %v, want about the LockWait of 150ms", took)
	}
	t.Log(err)

	long := open(10*time.Second, "long")
	go func() { time.Sleep(200 * time.Millisecond); tx.Rollback() }()
	start = time.Now()
	if err := long.MarkDelivered(ctx, id, time.Now()); err != nil {
		t.Fatalf("write queued behind another: %v", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("the queued write went after %v, before the holder ended", took)
	}

	// holder and long are idle now, and open: neither holds the lock.
	if err := open(0, "no-wait").MarkDelivered(ctx, id, time.Now()); err != nil {
		t.Errorf("write beside idle ledgers, not waiting: %v", err)
	}
}

// A read-only open creates nothing, refuses a ledger that is behind on
// migrations, and cannot write.
func TestReadOnlyOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	if _, err := OpenWith(ctx, path, nil, nil, Options{ReadOnly: true}); !errors.Is(err, ErrNoLedger) {
		t.Fatalf("read-only open of no ledger: %v, want ErrNoLedger", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("read-only open created %v", ents)
	}

	// A ledger written by a version that knew only the first migration.
	db, err := sql.Open(driverName, "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	old := &Ledger{db: db}
	if err := old.migrate(ctx, upTo(t, "0001_ledger.sql")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = OpenWith(ctx, path, nil, nil, Options{ReadOnly: true})
	if !errors.Is(err, ErrNeedsMigration) || !strings.Contains(err.Error(), "process, run, plans load") {
		t.Fatalf("read-only open of a ledger behind: %v, want ErrNeedsMigration saying what migrates it", err)
	}

	l, err := Open(ctx, path, testKeys(t), nil) // migrates
	if err != nil {
		t.Fatal(err)
	}
	id := failedBatch(t, l, "census_1.csv")
	holdWrite(t, path)
	ro, err := OpenWith(ctx, path, nil, nil, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a migrated ledger while another connection writes: %v", err)
	}
	defer ro.Close()
	if _, err := ro.Batch(ctx, id); err != nil {
		t.Errorf("read-only read while another connection writes: %v", err)
	}
	if err := ro.MarkDelivered(ctx, id, time.Now()); err == nil {
		t.Error("a read-only ledger wrote")
	}
}

// Several processes opening a new ledger at once: one migrates, the others
// wait for it and find nothing left to do (each migration is checked again
// under the lock).
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := OpenWith(ctx, path, testKeys(t), nil, Options{LockWait: 10 * time.Second})
			if err == nil {
				l.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	l, err := OpenWith(ctx, path, nil, nil, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	names, _ := fs.Glob(schemas.Migrations(), "*.sql")
	var n int
	if err := l.db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(names) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(names))
	}
}

// TestWaitingWriterBeats: a write queued behind another writer of the same
// process calls the context's beat while it waits, so serve's /healthz
// does not take a source waiting its turn on the ledger for a stalled one.
func TestWaitingWriterBeats(t *testing.T) {
	ctx := context.Background()
	l, err := OpenWith(ctx, filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil, Options{LockWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	id := failedBatch(t, l, "census_1.csv")
	tx, err := l.beginWrite(ctx) // another source's file, applying
	if err != nil {
		t.Fatal(err)
	}
	var beats atomic.Int32
	done := make(chan error, 1)
	go func() { done <- l.MarkDelivered(WithWaitBeat(ctx, func() { beats.Add(1) }), id, time.Now()) }()
	deadline := time.Now().Add(10 * time.Second)
	for beats.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if beats.Load() == 0 {
		t.Error("no beat in 10s of waiting for the write lock")
	}
	tx.Rollback()
	if err := <-done; err != nil {
		t.Errorf("the queued write, once the lock is free: %v", err)
	}
}

// TestNewLedgerHasLargePages: a new ledger is made with 16 KiB pages (the
// WAL mode every connection asks for would fix the 4 KiB default first).
func TestNewLedgerHasLargePages(t *testing.T) {
	l, err := OpenWith(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var size int
	var mode string
	if err := l.db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	if err := l.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if size != pageSize || mode != "wal" {
		t.Errorf("page_size %d, journal_mode %s; want %d, wal", size, mode, pageSize)
	}
}

// TestAuditKeepsWhatChanged: a change event keeps, on each side, only the
// fields that differ; a CREATE keeps the whole row.
func TestAuditKeepsWhatChanged(t *testing.T) {
	type row struct {
		ID      string `json:"id"`
		Address string `json:"address_line1"`
		City    string `json:"city"`
		Version int    `json:"version"`
	}
	old := row{"p1", "1 Main St", "Boston", 1}
	moved := row{"p1", "9 Elm St", "Boston", 2}
	for _, tt := range []struct {
		name          string
		before, after any
		wantB, wantA  string
	}{
		{"update", old, moved, `{"address_line1":"1 Main St","version":1}`, `{"address_line1":"9 Elm St","version":2}`},
		{"create", nil, moved, ``, `{"id":"p1","address_line1":"9 Elm St","city":"Boston","version":2}`},
		{"a field added", map[string]string{"status": "A"}, map[string]string{"status": "A", "end": "x"}, `{}`, `{"end":"x"}`},
		{"not objects", "x", "y", `"x"`, `"y"`},
	} {
		b, a := snapshots(tt.before, tt.after)
		if b != tt.wantB || a != tt.wantA {
			t.Errorf("%s: %s → %s, want %s → %s", tt.name, b, a, tt.wantB, tt.wantA)
		}
	}
}
