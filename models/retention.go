package models

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// PurgeResults deletes raw results older than before, a few checks per
// statement so no statement holds locks for long. Rollups, outages and
// their evidence stay; so do the results of hours and days whose rollups
// the janitor has not built yet (BuildRollups). It returns the rows
// deleted.
func (s *Store) PurgeResults(ctx context.Context, before time.Time, checksPerStatement int) (int64, error) {
	utc(&before)
	if checksPerStatement <= 0 {
		checksPerStatement = 50
	}
	db := s.db.WithContext(ctx)
	marks, err := s.readMarks(db, false)
	if err != nil {
		return 0, wrap(err, "purge results")
	}
	for _, p := range rollupPeriods {
		mk, ok := marks[p.name]
		if !ok {
			return 0, nil // nothing built yet
		}
		if mk.DoneUntil.Before(before) {
			before = mk.DoneUntil
		}
	}
	var ids []int64
	if err := db.Model(&Check{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return 0, wrap(err, "purge results")
	}
	var total int64
	for len(ids) > 0 {
		n := min(checksPerStatement, len(ids))
		r := db.Where("check_id IN ? AND at < ?", ids[:n], before).Delete(&ProbeResult{})
		if r.Error != nil {
			return total, fmt.Errorf("models: purge results: %w", r.Error)
		}
		total += r.RowsAffected
		ids = ids[n:]
		if err := ctx.Err(); err != nil {
			return total, wrap(err, "purge results")
		}
	}
	return total, nil
}

// median of xs (the lower middle of an even count), or 0 when empty.
func median(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	sort.Ints(xs)
	return max(xs[(len(xs)-1)/2], 1)
}
