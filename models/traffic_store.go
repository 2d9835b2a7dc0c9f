package models

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// RecordTraffic stores samples read by the poller. A sample already stored
// (a replayed spool, a poll written twice) is skipped: (port_id, at) is
// the key. It returns how many were new.
//
// A sample that arrives after the janitor built its hour, day or month (a
// spool replayed late) has those of its port counted again from the raw
// samples in the same transaction (rederiveLateTraffic), so the rollups
// and months always say what the samples say, and a replay adds nothing
// twice. Only then are the marks read, under a shared lock that keeps the
// janitor from building those periods meanwhile.
func (s *Store) RecordTraffic(ctx context.Context, samples []TrafficSample) (int, error) {
	if len(samples) == 0 {
		return 0, nil
	}
	late := false
	lateBefore := s.now().Add(-lateResult)
	for i := range samples {
		samples[i].At = samples[i].At.UTC()
		late = late || samples[i].At.Before(lateBefore)
	}
	var added int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		added = 0
		var marks trafficMarks
		if late {
			var err error
			if marks, err = readTrafficMarks(tx, true); err != nil {
				return err
			}
		}
		for start := 0; start < len(samples); start += rowChunk {
			end := min(start+rowChunk, len(samples))
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(samples[start:end])
			if res.Error != nil {
				return res.Error
			}
			added += int(res.RowsAffected)
		}
		if added == 0 || len(marks) == 0 {
			return nil
		}
		return s.rederiveLateTraffic(tx, samples, marks)
	}, readCommitted)
	return added, wrap(err, "record traffic")
}
