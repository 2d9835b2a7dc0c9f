package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// txOption adjusts one transaction run by Store.tx.
type txOption func(*txConfig)

type txConfig struct {
	readCommitted bool
}

// readCommitted runs the transaction at READ COMMITTED on MySQL (see
// rederiveTx); SQLite serializes writers already.
func readCommitted(c *txConfig) { c.readCommitted = true }

// Retry bounds of Store.tx: at most txAttempts runs, waiting a random
// time up to txBackoff·2^(n-1) (at most txBackoffMax) before run n+1.
const (
	txAttempts   = 5
	txBackoff    = 10 * time.Millisecond
	txBackoffMax = 250 * time.Millisecond
)

// tx runs fn in one transaction and runs it again, from the start, when
// the database chose it as the victim of a deadlock or gave up waiting
// for a lock (MySQL 1213 and 1205; SQLite's SQLITE_BUSY): the database
// rolled it back, nothing of it is kept, and the same transaction a moment
// later usually goes through. It tries at most txAttempts times, with a
// short random pause between tries so that two victims do not meet again,
// and never past ctx or the database deadline it carries (WithDBTimeout). Every other error, and the last one, is returned
// as fn or the database gave it.
//
// fn may therefore run more than once: it must not keep anything of a
// failed run. A variable declared outside fn that fn sets is set afresh
// at its start (a counter to 0, a slice to nil, a struct to be inserted
// with its ID at 0), and fn does nothing outside the database that a
// second run would repeat.
//
// Every multi-statement write of the Store runs here; one that re-derives
// state from what other transactions commit adds readCommitted (or calls
// rederiveTx).
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error, opts ...txOption) error {
	var cfg txConfig
	for _, o := range opts {
		o(&cfg)
	}
	// The request's database deadline covers the transaction with its
	// retries (WithDBTimeout); its statements run on this context.
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	db := s.db.WithContext(ctx)
	var sqlOpts []*sql.TxOptions
	if cfg.readCommitted && dialectOf(db) == MySQL {
		sqlOpts = append(sqlOpts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	}
	attempts := s.txAttempts
	if attempts <= 0 {
		attempts = txAttempts
	}
	for n := 1; ; n++ {
		err := db.Transaction(fn, sqlOpts...)
		if err == nil || n >= attempts || !retryableTx(err) {
			return err
		}
		if s.txRetried != nil {
			s.txRetried(err)
		}
		wait := time.Duration(rand.Int64N(int64(min(txBackoff<<(n-1), txBackoffMax)) + 1))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (not tried again: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// rederiveTx is tx at READ COMMITTED: every read sees what has committed
// by the time it runs, so the reads after a lock (forUpdate) see what the
// transaction that held it wrote. Every transaction that re-derives
// missed-notice outcomes (reevaluateNoticeDay) or closes a month runs
// here: it decides from the outage's cause, the marks, the deliveries and
// the closed months as they are once it holds the day's lock, never from a
// snapshot taken before. SQLite serializes writers from the first
// statement (_txlock=immediate), so its transactions see everything
// committed before them already.
func (s *Store) rederiveTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.tx(ctx, fn, readCommitted)
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY (its extended
// codes keep it in the low byte).
const sqliteBusy = 5

// retryableTx says whether err means the database rolled the transaction
// back for a lock it could not have: a deadlock (MySQL 1213), a lock wait
// that timed out (1205), or SQLite busy past its busy timeout.
func retryableTx(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return sqliteIsBusy(err)
}

// codedBusy reads SQLITE_BUSY from an error with an integer Code (the
// modernc.org/sqlite drivers' *Error).
func codedBusy(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()&0xff == sqliteBusy
	}
	return false
}
