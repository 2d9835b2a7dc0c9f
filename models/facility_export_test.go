package models

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// AddTestFacilityMeter stores meter m on the facility device named
// device of kind (made when there is none, polled every intervalSec),
// for the tests of what a poll does; the meter gets a Ref and its
// device's ID.
func AddTestFacilityMeter(ctx context.Context, s *Store, device, kind string, intervalSec int, m FacilityMeter) (*FacilityMeter, error) {
	db := s.db.WithContext(ctx)
	sw := Switch{Name: device, Kind: kind, Address: "127.0.0.1", Version: SNMPv2c, IntervalSec: intervalSec,
		TimeoutMs: SwitchTimeoutDefault, MaxOIDs: SwitchMaxOIDsDefault, Enabled: true, LeaseUntil: s.now()}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&sw).Error; err != nil {
		return nil, err
	}
	if err := db.Where("name = ?", device).First(&sw).Error; err != nil {
		return nil, err
	}
	m.SwitchID, m.Ref = sw.ID, newRef()
	if m.Divisor == 0 {
		m.Divisor = 1
	}
	if m.OrgID != nil && m.MappedSince == nil {
		t := s.now().Add(-time.Hour)
		m.MappedSince = &t
	}
	if err := db.Create(&m).Error; err != nil {
		return nil, err
	}
	return &m, nil
}

// StoredFacilityRollups lists meter id's rollups of period, oldest first.
func StoredFacilityRollups(ctx context.Context, s *Store, id int64, period string) ([]FacilityRollup, error) {
	var rs []FacilityRollup
	err := s.db.WithContext(ctx).Where("meter_id = ? AND period = ?", id, period).Order("start").Find(&rs).Error
	for i := range rs {
		rs[i].Start = rs[i].Start.UTC()
	}
	return rs, err
}
