package models

import (
	"context"
	"fmt"
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

// ShareTargets is shareTargets, for its table test.
func ShareTargets(total int, live []ProberInstance) map[string]int { return shareTargets(total, live) }
