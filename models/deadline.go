package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// DefaultDBTimeout is how long one statement, or one transaction as a
// whole, of a request may wait for the database (PORTAL_DB_TIMEOUT).
const DefaultDBTimeout = 5 * time.Second

type dbTimeoutKey struct{}

// WithDBTimeout marks ctx so that the database work run under it has a
// deadline: each statement outside a transaction, and each transaction
// (Store.tx) as a whole with its retries, gets at most d, or what is left
// of ctx if that is less. A stalled database (a global read lock, a
// network that stopped forwarding) then fails the call with
// context.DeadlineExceeded after d instead of holding it until the
// request's own deadline. The web side marks every request's context; the
// background work and migrations run unmarked and wait as before.
func WithDBTimeout(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, dbTimeoutKey{}, d)
}

// dbTimeoutOf is the deadline WithDBTimeout put in ctx.
func dbTimeoutOf(ctx context.Context) (time.Duration, bool) {
	if ctx == nil {
		return 0, false
	}
	d, ok := ctx.Value(dbTimeoutKey{}).(time.Duration)
	return d, ok
}

// boundedContext is ctx with its database deadline applied, if it has one
// and less than that is left; cancel releases it (a no-op otherwise).
func boundedContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := dbTimeoutOf(ctx)
	if !ok {
		return ctx, func() {}
	}
	if dl, has := ctx.Deadline(); has && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

const (
	deadlineCallback = "portal:db_deadline"
	deadlineEnd      = "portal:db_deadline_end"
	deadlineState    = "portal:db_deadline_state"
)

// deadlineRun is what the start callback leaves for the end callback: the
// statement's own context, to put back, and the timer to release.
type deadlineRun struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// registerDeadlines installs the callbacks that give each statement outside
// a transaction its deadline (boundedContext). A statement inside a
// transaction runs on the transaction's context, bounded once by Store.tx.
// Row queries (Row, Rows, Scan) are read after their callbacks end, so
// their deadline is released when it passes or the request ends, not at
// the end of the callbacks. Registering twice on one handle is a no-op.
func registerDeadlines(db *gorm.DB) {
	cb := db.Callback()
	if cb.Query().Get(deadlineCallback) != nil {
		return
	}
	_ = cb.Create().Before("*").Register(deadlineCallback, startDeadline)
	_ = cb.Create().After("*").Register(deadlineEnd, endDeadline)
	_ = cb.Query().Before("*").Register(deadlineCallback, startDeadline)
	_ = cb.Query().After("*").Register(deadlineEnd, endDeadline)
	_ = cb.Update().Before("*").Register(deadlineCallback, startDeadline)
	_ = cb.Update().After("*").Register(deadlineEnd, endDeadline)
	_ = cb.Delete().Before("*").Register(deadlineCallback, startDeadline)
	_ = cb.Delete().After("*").Register(deadlineEnd, endDeadline)
	_ = cb.Raw().Before("*").Register(deadlineCallback, startDeadline)
	_ = cb.Raw().After("*").Register(deadlineEnd, endDeadline)
	_ = cb.Row().Before("*").Register(deadlineCallback, startDeadline)
}

func startDeadline(db *gorm.DB) {
	st := db.Statement
	if _, inTx := st.ConnPool.(gorm.TxCommitter); inTx {
		return
	}
	ctx, cancel := boundedContext(st.Context)
	if ctx == st.Context {
		return
	}
	db.InstanceSet(deadlineState, &deadlineRun{ctx: st.Context, cancel: cancel})
	st.Context = ctx
}

// endDeadline releases the statement's deadline and gives the statement
// its own context back, for a query built once and run twice.
func endDeadline(db *gorm.DB) {
	v, ok := db.InstanceGet(deadlineState)
	if !ok {
		return
	}
	if r, ok := v.(*deadlineRun); ok && r != nil {
		r.cancel()
		db.Statement.Context = r.ctx
		db.InstanceSet(deadlineState, (*deadlineRun)(nil))
	}
}
