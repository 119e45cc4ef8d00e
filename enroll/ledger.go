// Package enroll is the ledger: the domain rules of enrollment applied to a
// SQLite database, one transaction per file, with an append-only audit trail.
package enroll

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/mattn/go-sqlite3"

	"enrollsftp/internal/lockfile"
	"enrollsftp/kyc"
	"enrollsftp/schemas"
)

// driverName is mattn/go-sqlite3 with the pragmas the DSN cannot set,
// applied to every connection the pool opens.
const driverName = "sqlite3_enrollsftp"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// Each row runs in a savepoint (a failed rule undoes its first
		// writes); its journal in memory rather than a temporary file makes
		// a row's writes 2.4 times faster (measured: 24 → 10 µs an insert),
		// with no growth in memory (300,000 rows: RSS flat at 50 MB).
		_, err := c.Exec("PRAGMA temp_store = MEMORY", nil)
		return err
	}})
}

// Ledger is an open ledger database.
type Ledger struct {
	db       *sql.DB
	keys     *Keys
	verifier kyc.Verifier
	readOnly bool
	// lockPath is the write lock file, taken around every write
	// transaction.
	lockPath string
	lockWait time.Duration
	holder   lockfile.Holder
	writer   chan struct{} // held by this process's writer; see lockWrite
	// Now is the clock; --now fixes it for tests and replays.
	Now func() time.Time
}

// DefaultLockWait is how long Open's writes wait for another writer.
const DefaultLockWait = time.Minute

// Options say how to open a ledger.
type Options struct {
	// ReadOnly opens an existing, migrated ledger for reading: nothing is
	// created, migrated or locked, and a writer does not block its reads.
	ReadOnly bool
	// LockWait bounds how long a write transaction waits for another
	// process's (0: it fails at once when one is open).
	LockWait time.Duration
	// Command names this process in the write lock file, for the error a
	// waiting writer gets: "process", "serve", …
	Command string
}

var (
	// ErrNoLedger is returned by a read-only Open when there is no ledger.
	ErrNoLedger = errors.New("enroll: no ledger")
	// ErrNeedsMigration is returned by a read-only Open of a ledger that
	// this version would migrate.
	ErrNeedsMigration = errors.New("enroll: the ledger needs migration")
	// ErrLedgerBusy is returned when a write waited its whole LockWait for
	// another process's write transaction; the error is a *BusyError.
	ErrLedgerBusy = errors.New("enroll: the ledger is busy")
)

// BusyError names the process whose write transaction outlasted the wait.
type BusyError struct {
	Wait time.Duration
	Held *lockfile.HeldError
}

func (e *BusyError) Error() string {
	if e.Held.Holder.PID == 0 {
		return fmt.Sprintf("enroll: the ledger is busy: waited %s for its write lock %s, held by another process", e.Wait, e.Held.Path)
	}
	return fmt.Sprintf("enroll: the ledger is busy: waited %s for its write lock, held by %s (%s)", e.Wait, e.Held.Holder, e.Held.Path)
}

func (e *BusyError) Is(target error) bool { return target == ErrLedgerBusy }
func (e *BusyError) Unwrap() error        { return e.Held }

// Open opens (creating if needed) the ledger at path and applies pending
// migrations, its writes waiting up to DefaultLockWait. keys encrypt and
// match SSNs.
func Open(ctx context.Context, path string, keys *Keys, verifier kyc.Verifier) (*Ledger, error) {
	return OpenWith(ctx, path, keys, verifier, Options{LockWait: DefaultLockWait})
}

// OpenWith opens the ledger at path as o says. A read-write open creates
// the ledger if needed and migrates it when it is behind, and only then
// takes the write lock: opening an up-to-date ledger is a read, which a
// writer in another process does not block. A read-only open needs no
// keys (nil is fine).
func OpenWith(ctx context.Context, path string, keys *Keys, verifier kyc.Verifier, o Options) (*Ledger, error) {
	// SQLite's own lock is waited for too, when a process that does not
	// take the lock file (an older version, the sqlite3 shell) writes: as
	// long as the lock file would be, and never less than the 5 s it
	// always was.
	busy := max(5*time.Second, o.LockWait)
	// _txlock=deferred: a read transaction (View, LookupPerson) must not
	// take the write lock; write transactions say BEGIN IMMEDIATE
	// themselves (beginWrite).
	//
	// A 24 MiB page cache keeps a file's transaction from spilling pages to
	// the WAL as it grows (measured: a quarter less system time than the
	// 2 MiB default) and the process under 64 MB; 32 MiB was 7% faster at
	// 100k census rows but 65 MB.
	//
	// _mutex=no: database/sql already gives a connection to one goroutine
	// at a time, and SQLite's own mutex on every call cost 0.5–0.9 s of a
	// 1M-row resend. It holds only while no statement is finalized from
	// elsewhere: go-sqlite3 finalizes a statement it finds unreachable from
	// the finalizer's goroutine. An approval left its statements to it, and
	// the pipeline tests crashed in sqlite3_prepare_v2 about one run in
	// twelve; every statement a write transaction prepares is now closed
	// when it ends (connTx), and 36 runs in a row passed.
	params := fmt.Sprintf("_busy_timeout=%d&_txlock=deferred&_foreign_keys=on&_cache_size=-24576&_mutex=no", busy.Milliseconds())
	if o.ReadOnly {
		// mode=ro never creates the file; WAL lets it read while another
		// process writes.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNoLedger, path)
		}
		params = "mode=ro&" + params
	} else {
		params = "_journal_mode=WAL&_synchronous=NORMAL&" + params
	}
	db, err := sql.Open(driverName, "file:"+path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("enroll: open %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and a pool would only queue on
	// its lock. It also keeps savepoints and temp state on one connection.
	db.SetMaxOpenConns(1)
	l := &Ledger{db: db, keys: keys, verifier: verifier, Now: time.Now, readOnly: o.ReadOnly,
		lockPath: path + ".write.lock", lockWait: o.LockWait, holder: lockfile.Me(o.Command),
		writer: make(chan struct{}, 1)}
	if l.holder.Command == "" {
		l.holder.Command = "enrollsftp"
	}
	if err := l.open(ctx, path); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

// open connects and migrates when behind. A new ledger is created under
// the write lock: two processes turning one new file to WAL at once make
// one fail at once ("database is locked", SQLite's busy handler does not
// wait there).
func (l *Ledger) open(ctx context.Context, path string) error {
	locked := false
	if st, err := os.Stat(path); !l.readOnly && (err != nil || st.Size() == 0) {
		release, err := l.lockWrite(ctx)
		if err != nil {
			return fmt.Errorf("enroll: create %s: %w", path, err)
		}
		defer release()
		locked = true
		if err := createFile(ctx, path); err != nil {
			return err
		}
	}
	if !l.readOnly {
		// A ledger made by an earlier version (or the sqlite3 shell) may be
		// readable by others: tighten it and its WAL files.
		tighten(path, path+"-wal", path+"-shm")
	}
	if err := l.db.PingContext(ctx); err != nil {
		return fmt.Errorf("enroll: open %s: %w", path, err)
	}
	pending, err := l.pending(ctx, schemas.Migrations())
	switch {
	case err != nil:
		return err
	case len(pending) == 0:
		return nil
	case l.readOnly:
		return fmt.Errorf("%w: %s is %d migration(s) behind (%s …): a command that writes (process, run, plans load) applies them",
			ErrNeedsMigration, path, len(pending), pending[0])
	case locked:
		return l.migrateLocked(ctx, schemas.Migrations())
	}
	return l.migrate(ctx, schemas.Migrations())
}

// pageSize is a new ledger's page size. Its rows are wide (a census row
// writes ~2 KB into 14 b-trees) and its look-ups random: 16 KiB pages hold
// four times the keys of the 4 KiB default per read (measured in
// perf-prototype: 1M census 15.8 → 12.8 × .import with the other levers).
const pageSize = 16384

// createFile makes a new, empty ledger file with pageSize pages. The page
// size is fixed once the file is in WAL mode, and the connections of the
// pool turn it to WAL as they open, so the file is made first, on its own
// connection.
func createFile(ctx context.Context, path string) error {
	// SQLite makes the -wal and -shm files with the database file's mode:
	// made 0600 first, none of the three is readable by others (it holds
	// sealed SSNs, names, addresses and DOBs).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return fmt.Errorf("enroll: create %s: %w", path, err)
	} else {
		f.Close()
	}
	db, err := sql.Open(driverName, "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		return fmt.Errorf("enroll: create %s: %w", path, err)
	}
	defer db.Close()
	for _, pragma := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("enroll: create %s: %w", path, err)
		}
	}
	return nil
}

// tighten makes each existing file of paths mode 0600; a file it cannot
// change (not the owner's) is left for the open to use as it is.
func tighten(paths ...string) {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(p, st.Mode().Perm()&0o700)
		}
	}
}

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// lockWrite takes the ledger's write lock for one write transaction and
// returns its release. Writers of this process queue on a semaphore first,
// as they queued on the one connection before: without a bound, as a
// serve's sources wait for each other. Then the lock file, waiting up to
// LockWait for another process: SQLite cannot say who holds its write
// lock, the file can. It is held only while a transaction is open, never
// by an idle serve.
func (l *Ledger) lockWrite(ctx context.Context) (release func(), err error) {
	if l.readOnly {
		return nil, errors.New("enroll: the ledger is open read-only")
	}
	if l.writer == nil {
		return func() {}, nil // a ledger built by hand in a test
	}
	if beat, ok := ctx.Value(waitBeatKey{}).(func()); ok {
		// Waiting for another writer is not being stuck (serve's /healthz).
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					beat()
				}
			}
		}()
	}
	select {
	case l.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	lk, err := lockfile.AcquireContext(ctx, l.lockPath, l.holder, l.lockWait)
	if err != nil {
		<-l.writer
		var held *lockfile.HeldError
		if errors.As(err, &held) {
			return nil, &BusyError{Wait: l.lockWait, Held: held}
		}
		return nil, fmt.Errorf("enroll: write lock: %w", err)
	}
	return func() { lk.Release(); <-l.writer }, nil
}

type waitBeatKey struct{}

// WithWaitBeat returns a context under which a write waiting for the
// ledger's write lock calls beat every second: a sign of life for a caller
// that watches for stalls.
func WithWaitBeat(ctx context.Context, beat func()) context.Context {
	return context.WithValue(ctx, waitBeatKey{}, beat)
}

// pending lists the migrations not yet recorded, in name order, from a
// plain read: a ledger with no schema_migrations table is new.
func (l *Ledger) pending(ctx context.Context, fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("enroll: migrate: %w", err)
	}
	sort.Strings(names)
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master
		WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("enroll: read the schema version: %w", err)
	}
	if n == 0 {
		return names, nil
	}
	done := map[string]bool{}
	rows, err := l.db.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("enroll: read the schema version: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("enroll: read the schema version: %w", err)
		}
		done[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enroll: read the schema version: %w", err)
	}
	var out []string
	for _, name := range names {
		if !done[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// migrate applies each numbered migration not yet recorded, each in its own
// transaction, in name order, holding the write lock throughout; each one
// is checked again inside its transaction, as another process may have
// applied it while this one waited.
func (l *Ledger) migrate(ctx context.Context, fsys fs.FS) error {
	release, err := l.lockWrite(ctx)
	if err != nil {
		return fmt.Errorf("enroll: migrate: %w", err)
	}
	defer release()
	return l.migrateLocked(ctx, fsys)
}

// migrateLocked is migrate for a caller that holds the write lock.
func (l *Ledger) migrateLocked(ctx context.Context, fsys fs.FS) error {
	tx, err := l.begin(ctx)
	if err != nil {
		return fmt.Errorf("enroll: migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		tx.Rollback()
		return fmt.Errorf("enroll: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("enroll: migrate: %w", err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return fmt.Errorf("enroll: migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := l.migrateOne(ctx, fsys, name); err != nil {
			return fmt.Errorf("enroll: migrate %s: %w", name, err)
		}
	}
	return nil
}

func (l *Ledger) migrateOne(ctx context.Context, fsys fs.FS, name string) error {
	tx, err := l.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	return tx.Commit()
}

// newID is NewID, the form of every identifier the system creates.
func newID() string { return NewID() }

// NewID returns a new identifier: a UUIDv7 (RFC 9562), time-ordered, so
// the rows a file creates append to the ledger's indexes instead of
// landing at random pages of b-trees larger than the cache (SPEC §3). Ids
// issued earlier as v4 stay valid.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

const isoDate = "2006-01-02"

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func notFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// execer is what helpers need from a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Check opens the ledger at path afresh, read-only, and reads from it: the
// health check. It fails when the file is gone or unreadable, which the
// daemon's own open connection would not notice.
func Check(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=2000")
	if err != nil {
		return fmt.Errorf("enroll: check: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("enroll: check %s: %w", path, err)
	}
	return nil
}
