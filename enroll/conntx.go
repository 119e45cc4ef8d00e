package enroll

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
)

// connTx is a write transaction run by hand (BEGIN IMMEDIATE … COMMIT) on
// one connection of the pool, with the write lock file held from before it
// begins until it ends. Every write uses one: database/sql's BeginTx says
// BEGIN as the DSN's _txlock does, which is deferred so reads never take
// the write lock. It also spares Process a goroutine per query: database/sql
// watches a Tx's context with a new one for every query it runs, and a file
// runs several queries a row; a Conn queried on a context that is never
// cancelled starts none.
type connTx struct {
	*sql.Conn
	release func() // the write lock's; nil when the caller holds it
	done    bool
	// stmts are the statements prepared on it, closed before the
	// connection goes back to the pool: a statement left to the garbage
	// collector is finalized from the finalizer's goroutine, maybe while
	// another transaction uses the connection (a *sql.Tx closes its own).
	stmts []*sql.Stmt
}

// PrepareContext prepares a statement that lives as long as the
// transaction.
func (c *connTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	s, err := c.Conn.PrepareContext(ctx, query)
	if err == nil {
		c.stmts = append(c.stmts, s)
		openStmts.Add(1)
	}
	return s, err
}

// closeStmts closes the statements prepared on the transaction.
func (c *connTx) closeStmts() {
	for _, s := range c.stmts {
		s.Close() // again, for those a txn closed itself: a no-op
		openStmts.Add(-1)
	}
	c.stmts = nil
}

// openStmts counts the statements prepared on write transactions not yet
// ended: 0 whenever none runs (TestNoStatementOutlivesItsTransaction).
var openStmts atomic.Int64

// beginWrite takes the write lock, waiting up to the ledger's LockWait,
// and begins a write transaction.
func (l *Ledger) beginWrite(ctx context.Context) (*connTx, error) {
	release, err := l.lockWrite(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := l.begin(ctx)
	if err != nil {
		release()
		return nil, err
	}
	tx.release = release
	return tx, nil
}

// begin begins a write transaction; the caller holds the write lock.
func (l *Ledger) begin(ctx context.Context) (*connTx, error) {
	c, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("enroll: begin: %w", err)
	}
	if _, err := c.ExecContext(context.WithoutCancel(ctx), `BEGIN IMMEDIATE`); err != nil {
		c.Close()
		return nil, fmt.Errorf("enroll: begin: %w", err)
	}
	return &connTx{Conn: c}, nil
}

// Commit commits, hands the connection back to the pool and drops the
// write lock.
func (c *connTx) Commit() error {
	if _, err := c.ExecContext(context.Background(), `COMMIT`); err != nil {
		return err
	}
	c.closeStmts()
	c.done = true
	err := c.Conn.Close()
	c.unlock()
	return err
}

// Rollback undoes an uncommitted transaction, hands the connection back
// and drops the write lock; after Commit it does nothing. A connection
// whose rollback failed may still be inside the transaction, so the pool
// is told to drop it.
func (c *connTx) Rollback() error {
	if c.done {
		return nil
	}
	c.done = true
	defer c.unlock()
	c.closeStmts()
	if _, err := c.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
		c.Conn.Close()
		return err
	}
	return c.Conn.Close()
}

// restart rolls back what the transaction did and begins a new one on the
// same connection, the write lock file held throughout: for a file rejected
// or held after its rows were applied, where undoing everything and writing
// again the little that stays costs less than a savepoint over the file
// (whose journal keeps every page the file touched). SQLite's own lock is
// free between the two statements; a writer that does not take the lock
// file (the sqlite3 shell) could get in, and BEGIN IMMEDIATE then waits for
// it as long as the busy timeout.
func (c *connTx) restart(ctx context.Context) error {
	if _, err := c.ExecContext(ctx, `ROLLBACK`); err != nil {
		return fmt.Errorf("enroll: rollback: %w", err)
	}
	if _, err := c.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("enroll: begin: %w", err)
	}
	return nil
}

func (c *connTx) unlock() {
	if c.release != nil {
		c.release()
		c.release = nil
	}
}

// sqlTx is what a txn runs its statements on: a *sql.Tx or a *connTx.
type sqlTx interface {
	execer
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}
