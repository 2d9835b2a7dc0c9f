package models

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// RecordTraffic stores samples read by the poller. A sample already stored
// (a replayed spool, a poll written twice) is skipped: (port_id, at) is
// the key. It returns how many were new.
func (s *Store) RecordTraffic(ctx context.Context, samples []TrafficSample) (int, error) {
	if len(samples) == 0 {
		return 0, nil
	}
	for i := range samples {
		samples[i].At = samples[i].At.UTC()
	}
	var added int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		added = 0
		for start := 0; start < len(samples); start += rowChunk {
			end := min(start+rowChunk, len(samples))
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(samples[start:end])
			if res.Error != nil {
				return res.Error
			}
			added += int(res.RowsAffected)
		}
		return nil
	})
	return added, wrap(err, "record traffic")
}
