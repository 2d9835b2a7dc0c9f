package models

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// What the janitor builds from the meters' readings, as it does for
// traffic (traffic_rollup.go): hourly and daily rollups (facility_rollups:
// count, minimum, maximum and sum of each meter's readings), each period
// once whichever instance builds it, moving its mark in facility_marks
// ("h", "d": every period starting before it is built; "p": readings
// before it may have been purged). Readings go after
// FacilityReadingDays; rollups stay.

// FacilityReadingDays is how long raw readings are kept by default.
const FacilityReadingDays = 35

// readFacilityMarks reads the marks, share-locked on MySQL when share is
// set (a late reading re-derives built periods; see readTrafficMarks).
func readFacilityMarks(db *gorm.DB, share bool) (trafficMarks, error) {
	return readMarks[facilityMark](db, "facility", share)
}

// BuildFacilityRollups builds the hourly and daily rollups of finished
// periods (rollupGrace after their end), at most maxSteps periods, and
// returns how many it built: run it until it returns fewer than maxSteps.
func (s *Store) BuildFacilityRollups(ctx context.Context, maxSteps int) (int, error) {
	tried, built := 0, 0
	for _, p := range rollupPeriods {
		for tried < maxSteps {
			did, more, err := s.buildFacilityRollupStep(ctx, p)
			if err != nil {
				return built, fmt.Errorf("models: build facility rollups: %w", err)
			}
			if !more {
				break
			}
			tried++
			if did {
				built++
			}
		}
	}
	return built, nil
}

func (s *Store) buildFacilityRollupStep(ctx context.Context, p rollupPeriod) (did, more bool, err error) {
	db := s.db.WithContext(ctx)
	marks, err := readFacilityMarks(db, false)
	if err != nil {
		return false, false, err
	}
	mk, ok := marks[p.name]
	if !ok {
		var first []time.Time
		if err := db.Model(&FacilityReading{}).Order("at").Limit(1).Pluck("at", &first).Error; err != nil {
			return false, false, err
		}
		if len(first) == 0 {
			return false, false, nil // no reading yet
		}
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&facilityMark{Period: p.name, BuiltUntil: p.start(first[0])}).Error; err != nil {
			return false, false, err
		}
		if marks, err = readFacilityMarks(db, false); err != nil {
			return false, false, err
		}
		mk = marks[p.name]
	}
	end := mk.Add(p.length)
	if end.Add(rollupGrace).After(s.now()) {
		return false, false, nil
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		did = false
		r := tx.Model(&facilityMark{}).Where("period = ? AND built_until = ?", p.name, mk).Update("built_until", end)
		if r.Error != nil || r.RowsAffected == 0 {
			return r.Error // another instance built this period
		}
		var ids []int64
		if err := tx.Model(&FacilityMeter{}).Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		for chunk := range chunks(ids) {
			if err := deriveFacilityRollups(tx, p, mk, chunk); err != nil {
				return err
			}
		}
		did = true
		return nil
	}, readCommitted)
	return did && err == nil, err == nil, err
}

// deriveFacilityRollups writes the rollups of period p starting at start
// of meters ids from their readings, in place of any there.
func deriveFacilityRollups(tx *gorm.DB, p rollupPeriod, start time.Time, ids []int64) error {
	start = start.UTC()
	if err := tx.Where("period = ? AND start = ? AND meter_id IN ?", p.name, start, ids).Delete(&FacilityRollup{}).Error; err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO facility_rollups (meter_id, period, start, n, min_milli, max_milli, sum_milli)
SELECT meter_id, ?, ?, COUNT(*), MIN(milli), MAX(milli), SUM(milli)
FROM facility_readings WHERE meter_id IN ? AND at >= ? AND at < ? GROUP BY meter_id`,
		p.name, start, ids, start, start.Add(p.length)).Error
}

// rederiveLateFacility counts again the built rollups that readings fall
// in (a poll stored after its hour was built), unless the period may be
// partly purged.
func (s *Store) rederiveLateFacility(tx *gorm.DB, readings []FacilityReading) error {
	marks, err := readFacilityMarks(tx, true)
	if err != nil || len(marks) == 0 {
		return err
	}
	type key struct {
		period string
		start  int64
		meter  int64
	}
	var ks []key
	for _, r := range readings {
		for _, p := range rollupPeriods {
			start := p.start(r.At)
			k := key{p.name, start.Unix(), r.MeterID}
			if marks.built(p.name, start) && marks.intact(start) && !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
	}
	slices.SortFunc(ks, func(a, b key) int {
		switch {
		case a.period != b.period:
			return cmp.Compare(b.period, a.period)
		case a.start != b.start:
			return cmp.Compare(a.start, b.start)
		}
		return cmp.Compare(a.meter, b.meter)
	})
	for _, k := range ks {
		if err := deriveFacilityRollups(tx, periodNamed(k.period), time.Unix(k.start, 0).UTC(), []int64{k.meter}); err != nil {
			return fmt.Errorf("facility rollup %s %d of meter %d: %w", k.period, k.start, k.meter, err)
		}
	}
	return nil
}

// facilityPurgeMeters is how many meters' readings one statement deletes.
const facilityPurgeMeters = 50

// PurgeFacilityReadings deletes the readings older than before (but never
// those of a period whose rollups are not built yet), a few meters per
// statement, and the readings and rollups of meters that no longer
// exist; it returns how many readings it deleted. Rollups stay.
func (s *Store) PurgeFacilityReadings(ctx context.Context, before time.Time) (int64, error) {
	utc(&before)
	db := s.db.WithContext(ctx)
	var total int64
	total, err := purgeOrphanFacility(ctx, db)
	if err != nil {
		return total, wrap(err, "purge facility readings")
	}
	marks, err := readFacilityMarks(db, false)
	if err != nil {
		return total, wrap(err, "purge facility readings")
	}
	for _, name := range []string{"h", "d"} {
		mk, ok := marks[name]
		if !ok {
			return total, nil // nothing built yet
		}
		if mk.Before(before) {
			before = mk
		}
	}
	if !marks.intact(before) {
		before = marks[trafficMarkPurged]
	}
	err = s.tx(ctx, func(tx *gorm.DB) error { return movePurgedMark[facilityMark](tx, before) })
	if err != nil {
		return total, wrap(err, "purge facility readings")
	}
	var ids []int64
	if err := db.Model(&FacilityMeter{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return total, wrap(err, "purge facility readings")
	}
	for chunk := range chunksOf(ids, facilityPurgeMeters) {
		r := db.Where("meter_id IN ? AND at < ?", chunk, before).Delete(&FacilityReading{})
		if r.Error != nil {
			return total, wrap(r.Error, "purge facility readings")
		}
		total += r.RowsAffected
		if err := ctx.Err(); err != nil {
			return total, wrap(err, "purge facility readings")
		}
	}
	return total, nil
}

// purgeOrphanFacility deletes the readings and rollups of meters that no
// longer exist, walking each table's meter IDs one index seek a meter (as
// purgeOrphanTraffic does), and returns how many readings it deleted.
func purgeOrphanFacility(ctx context.Context, db *gorm.DB) (int64, error) {
	var have []int64
	if err := db.Model(&FacilityMeter{}).Pluck("id", &have).Error; err != nil {
		return 0, err
	}
	exists := make(map[int64]bool, len(have))
	for _, id := range have {
		exists[id] = true
	}
	var total int64
	for _, model := range []any{&FacilityReading{}, &FacilityRollup{}} {
		var gone []int64
		for after := int64(0); len(gone) < trafficOrphanPorts; {
			var next sql.NullInt64
			if err := db.Model(model).Select("MIN(meter_id)").Where("meter_id > ?", after).Row().Scan(&next); err != nil {
				return total, err
			}
			if !next.Valid {
				break
			}
			after = next.Int64
			if !exists[after] {
				gone = append(gone, after)
			}
		}
		for chunk := range chunksOf(gone, facilityPurgeMeters) {
			r := db.Where("meter_id IN ? AND meter_id NOT IN (SELECT id FROM facility_meters)", chunk).Delete(model)
			if r.Error != nil {
				return total, r.Error
			}
			if _, ok := model.(*FacilityReading); ok {
				total += r.RowsAffected
			}
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}
