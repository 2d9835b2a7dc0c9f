package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// RerunMigrations runs every migration step's function once more on a
// migrated database, as an interrupted or repeated run would: each must be
// safe to run again.
func RerunMigrations(ctx context.Context, s *Store) error {
	db := s.db.WithContext(withMigrationZone(ctx, s.zone))
	for _, m := range migrations {
		if err := m.Up(db); err != nil {
			return fmt.Errorf("migration %d again: %w", m.Version, err)
		}
	}
	return nil
}

// RunTx runs fn through the Store's transaction helper (tx), at READ
// COMMITTED with rc.
func RunTx(ctx context.Context, s *Store, rc bool, fn func(tx *gorm.DB) error) error {
	if rc {
		return s.tx(ctx, fn, readCommitted)
	}
	return s.tx(ctx, fn)
}

// OnTxRetry makes s call f with each error a transaction is run again after.
func OnTxRetry(s *Store, f func(error)) { s.txRetried = f }

// SetTxAttempts bounds the runs of one transaction of s.
func SetTxAttempts(s *Store, n int) { s.txAttempts = n }

// RetryableTx is retryableTx.
func RetryableTx(err error) bool { return retryableTx(err) }

// ShareTargets is shareTargets, for its table test.
func ShareTargets(total int, live []ProberInstance) map[string]int { return shareTargets(total, live) }
