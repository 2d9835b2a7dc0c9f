package models

import (
	"context"
	"time"
)

// AddSwitchForTest stores sw with its v2c community sealed, as the
// switches' own methods do, for the tests of leases and polls.
func AddSwitchForTest(ctx context.Context, s *Store, sw *Switch, community string) error {
	if community != "" {
		sealed, err := s.snmpKey.Seal(community)
		if err != nil {
			return err
		}
		sw.Community = sealed
	}
	if sw.LeaseUntil.IsZero() {
		sw.LeaseUntil = neverLeased
	}
	return s.db.WithContext(ctx).Create(sw).Error
}

// AddPortForTest stores port p; with a device, also the port's check on it
// (target "<switch name> <port label>", every interval, 2 failures).
func AddPortForTest(ctx context.Context, s *Store, sw *Switch, p *SwitchPort, device *Device) error {
	db := s.db.WithContext(ctx)
	p.SwitchID = sw.ID
	if p.Ref == "" {
		p.Ref = newRef()
	}
	if device != nil {
		c := Check{DeviceID: device.ID, OrgID: device.OrgID, Kind: KindPort, Target: sw.Name + " " + p.Label(),
			IntervalSec: int(sw.Interval() / time.Second), TimeoutMs: SwitchTimeoutDefault, FailThreshold: 2,
			Enabled: true, Status: StatusUnknown, LeaseUntil: neverLeased}
		if err := db.Create(&c).Error; err != nil {
			return err
		}
		p.OrgID, p.DeviceID, p.CheckID = &device.OrgID, &device.ID, &c.ID
	}
	return db.Create(p).Error
}

// SetSwitchEnabledForTest turns switch id on or off.
func SetSwitchEnabledForTest(ctx context.Context, s *Store, id int64, on bool) error {
	return s.db.WithContext(ctx).Model(&Switch{}).Where("id = ?", id).UpdateColumn("enabled", on).Error
}

// SetSwitchSecretForTest stores community as the sealed value of switch
// id's community, as it is (a value sealed under another secret, say).
func SetSwitchSecretForTest(ctx context.Context, s *Store, id int64, community string) error {
	return s.db.WithContext(ctx).Model(&Switch{}).Where("id = ?", id).UpdateColumn("community", community).Error
}

// SwitchRowForTest reads switch id as stored.
func SwitchRowForTest(ctx context.Context, s *Store, id int64) (Switch, error) {
	var sw Switch
	err := s.db.WithContext(ctx).First(&sw, id).Error
	return sw, err
}
