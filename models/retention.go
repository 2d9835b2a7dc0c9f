package models

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// PurgeResults deletes raw results older than before, a few checks per
// statement so no statement holds locks for long. Rollups, outages and
// their evidence stay. It returns the rows deleted.
func (s *Store) PurgeResults(ctx context.Context, before time.Time, checksPerStatement int) (int64, error) {
	utc(&before)
	if checksPerStatement <= 0 {
		checksPerStatement = 50
	}
	db := s.db.WithContext(ctx)
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

// FinalizeMedians fills the median round trip of up to limit rollups whose
// period ended before now minus grace, from the raw results. It returns how
// many it filled; run it until it returns 0.
func (s *Store) FinalizeMedians(ctx context.Context, grace time.Duration, limit int) (int, error) {
	now := s.now()
	db := s.db.WithContext(ctx)
	var todo []Rollup
	err := db.Where("rtt_med_us = 0 AND rtt_count > 0 AND ((period = 'h' AND start < ?) OR (period = 'd' AND start < ?))",
		now.Add(-time.Hour-grace), now.Add(-24*time.Hour-grace)).Limit(limit).Find(&todo).Error
	if err != nil {
		return 0, wrap(err, "finalize medians")
	}
	for _, r := range todo {
		end := r.Start.Add(time.Hour)
		if r.Period == "d" {
			end = r.Start.AddDate(0, 0, 1)
		}
		var rtts []int
		if err := db.Model(&ProbeResult{}).Where("check_id = ? AND at >= ? AND at < ? AND ok = ?", r.CheckID, r.Start, end, true).
			Pluck("rtt_us", &rtts).Error; err != nil {
			return 0, wrap(err, "finalize medians")
		}
		med := median(rtts)
		if med == 0 {
			// Raw results already purged: the mean is the best left.
			med = max(r.AvgUs(), 1)
		}
		if err := db.Model(&Rollup{}).Where("check_id = ? AND period = ? AND start = ?", r.CheckID, r.Period, r.Start).
			Update("rtt_med_us", med).Error; err != nil {
			return 0, wrap(err, "finalize medians")
		}
	}
	return len(todo), nil
}

// median of xs (the lower middle of an even count), or 0 when empty.
func median(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	sort.Ints(xs)
	return max(xs[(len(xs)-1)/2], 1)
}
