package models

import (
	"context"
	"strconv"
	"time"

	"gorm.io/gorm/clause"
)

// AddTestSwitchPort stores a port of the switch named switchName (made
// when there is none), mapped to orgID and contractID when given, added at
// the store's time, for the tests of what the janitor and the statement
// make of traffic samples.
func AddTestSwitchPort(ctx context.Context, s *Store, switchName string, ifIndex int, orgID, contractID *int64) (*SwitchPort, error) {
	db := s.db.WithContext(ctx)
	sw := Switch{Name: switchName, Address: "127.0.0.1", Version: SNMPv2c, IntervalSec: SwitchIntervalDefault,
		TimeoutMs: SwitchTimeoutDefault, MaxOIDs: SwitchMaxOIDsDefault, Enabled: true, LeaseUntil: s.now()}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&sw).Error; err != nil {
		return nil, err
	}
	if err := db.Where("name = ?", switchName).First(&sw).Error; err != nil {
		return nil, err
	}
	p := &SwitchPort{SwitchID: sw.ID, IfIndex: ifIndex, Ref: newRef(), Name: "Gi1/0/" + strconv.Itoa(ifIndex), SpeedBps: 1_000_000_000,
		HC: true, OrgID: orgID, ContractID: contractID, CreatedAt: s.now()}
	if err := db.Create(p).Error; err != nil {
		return nil, err
	}
	return p, nil
}

// StoredTrafficRollups lists port portID's stored rollups of period,
// oldest first.
func StoredTrafficRollups(ctx context.Context, s *Store, portID int64, period string) ([]TrafficRollup, error) {
	var rs []TrafficRollup
	err := s.db.WithContext(ctx).Where("port_id = ? AND period = ?", portID, period).Order("start").Find(&rs).Error
	for i := range rs {
		rs[i].Start = rs[i].Start.UTC()
	}
	return rs, err
}

// StoredTrafficMonths lists port portID's stored months, oldest first.
func StoredTrafficMonths(ctx context.Context, s *Store, portID int64) ([]TrafficMonth, error) {
	var ms []TrafficMonth
	err := s.db.WithContext(ctx).Where("port_id = ?", portID).Order("month").Find(&ms).Error
	return ms, err
}

// TrafficMarks are the janitor's traffic marks by name ("h", "d", "m",
// "p").
func TrafficMarks(ctx context.Context, s *Store) (map[string]time.Time, error) {
	return readTrafficMarks(s.db.WithContext(ctx), false)
}

// CountTrafficSamples counts port portID's stored samples in [from, to).
func CountTrafficSamples(ctx context.Context, s *Store, portID int64, from, to time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&TrafficSample{}).Where("port_id = ? AND at >= ? AND at < ?", portID, from.UTC(), to.UTC()).Count(&n).Error
	return n, err
}
