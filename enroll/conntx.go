package enroll

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// connTx is a transaction run by hand (BEGIN IMMEDIATE … COMMIT) on one
// connection of the pool. Process uses it instead of a *sql.Tx because
// database/sql watches a Tx's context with a new goroutine for every query
// it runs, and a file runs several queries a row; a Conn queried on a
// context that is never cancelled starts none.
type connTx struct {
	*sql.Conn
	done bool
}

func (l *Ledger) beginConn(ctx context.Context) (*connTx, error) {
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

// Commit commits and hands the connection back to the pool.
func (c *connTx) Commit() error {
	if _, err := c.ExecContext(context.Background(), `COMMIT`); err != nil {
		return err
	}
	c.done = true
	return c.Conn.Close()
}

// Rollback undoes an uncommitted transaction and hands the connection
// back; after Commit it does nothing. A connection whose rollback failed
// may still be inside the transaction, so the pool is told to drop it.
func (c *connTx) Rollback() error {
	if c.done {
		return nil
	}
	c.done = true
	if _, err := c.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
		c.Conn.Close()
		return err
	}
	return c.Conn.Close()
}

// sqlTx is what a txn runs its statements on: a *sql.Tx or a *connTx.
type sqlTx interface {
	execer
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}
