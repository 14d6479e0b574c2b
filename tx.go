package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// Begin is the context-less form of BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction with the requested isolation level and access mode.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	level := ""
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		level = "READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		level = "READ COMMITTED"
	case sql.LevelRepeatableRead:
		level = "REPEATABLE READ"
	case sql.LevelSerializable:
		level = "SERIALIZABLE"
	default:
		return nil, fmt.Errorf("rawmysql: isolation level %s is not supported", sql.IsolationLevel(opts.Isolation))
	}
	if level != "" {
		if _, err := c.exec(ctx, "SET TRANSACTION ISOLATION LEVEL "+level); err != nil {
			return nil, err
		}
	}
	if c.gtid != nil && c.gtid.causal {
		if err := c.causalWait(ctx); err != nil {
			return nil, err
		}
	}
	q := "START TRANSACTION"
	if opts.ReadOnly {
		q = "START TRANSACTION READ ONLY"
	}
	if _, err := c.exec(ctx, q); err != nil {
		return nil, err
	}
	c.inTx = true
	return &tx{c: c}, nil
}

// tx is a driver.Tx.
type tx struct{ c *conn }

// Commit sends COMMIT.
func (t *tx) Commit() error {
	t.c.inTx = false
	_, err := t.c.exec(context.Background(), "COMMIT")
	return err
}

// Rollback sends ROLLBACK (after a background cancel recovery, if one runs). A connection whose ROLLBACK
// fails is discarded: it never goes back to the pool inside a transaction. When the connection was already
// discarded (a statement of the transaction was cancelled), closing it rolled the transaction back.
func (t *tx) Rollback() error {
	c := t.c
	c.inTx = false
	if c.bad {
		return nil
	}
	_, err := c.exec(context.Background(), "ROLLBACK")
	if err != nil {
		c.discard()
	}
	return err
}
