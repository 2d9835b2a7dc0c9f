package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AuditHistoryImported records a device's past written from elsewhere.
const AuditHistoryImported = "device.history_imported"

// Clocked returns a Store on the same database whose clock reads now. It
// writes a past through the ordinary methods (RecordResults, the notice
// path, cause changes), so that outages, clocks, deliveries and their audit
// records are dated as they happened: the demo's history. It never serves
// requests.
func (s *Store) Clocked(now func() time.Time) *Store {
	c := *s
	WithClock(now)(&c)
	c.db = s.db.Session(&gorm.Session{NowFunc: c.now})
	return &c
}

// ImportHistory writes the past of device deviceID of organization orgID
// kept elsewhere (the demo's, a monitor the portal replaces): its
// monitoring starts at since (the device and its checks are dated back to
// it, so availability counts from then), and the hourly and daily rollups
// of its checks are written as given, about 200 rows a statement; a rollup
// already there adds them up, as RecordResults does. Raw results and
// outages go through RecordResults, which keeps their state machine. It is
// audited with what was imported.
func (s *Store) ImportHistory(ctx context.Context, actor Actor, orgID, deviceID int64, since time.Time, rollups []Rollup) error {
	utc(&since)
	now := s.now()
	if !since.Before(now) {
		return Invalid("since", "error.date_invalid")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var d Device
		if err := tx.Where("org_id = ? AND id = ?", orgID, deviceID).First(&d).Error; err != nil {
			return notFound(err)
		}
		var checkIDs []int64
		if err := tx.Model(&Check{}).Where("device_id = ?", deviceID).Pluck("id", &checkIDs).Error; err != nil {
			return err
		}
		own := map[int64]bool{}
		for _, id := range checkIDs {
			own[id] = true
		}
		rows := make([]Rollup, len(rollups))
		for i, r := range rollups {
			r.Start = r.Start.UTC()
			length := time.Hour
			if r.Period == "d" {
				length = 24 * time.Hour
			}
			switch {
			case !own[r.CheckID]:
				return fmt.Errorf("rollup of check %d, not a check of device %d", r.CheckID, deviceID)
			case r.Period != "h" && r.Period != "d", !r.Start.Equal(r.Start.Truncate(length)):
				return fmt.Errorf("rollup %s at %v: not an hour or a UTC day", r.Period, r.Start)
			case r.Start.Before(since.Truncate(length)) || !r.Start.Before(now):
				return fmt.Errorf("rollup at %v outside the history from %v to now", r.Start, since)
			case r.Failures > r.Probes || r.RTTCount > r.Probes-r.Failures:
				return fmt.Errorf("rollup at %v counts more failures or round trips than probes", r.Start)
			}
			rows[i] = r
		}
		if since.Before(d.CreatedAt) {
			if err := tx.Model(&Device{}).Where("id = ?", deviceID).UpdateColumn("created_at", since).Error; err != nil {
				return err
			}
			if err := tx.Model(&Check{}).Where("device_id = ? AND created_at > ?", deviceID, since).
				UpdateColumn("created_at", since).Error; err != nil {
				return err
			}
		}
		if len(rows) > 0 {
			if err := s.upsertRollups(tx, rows, 200); err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditHistoryImported, "device", &deviceID, &orgID,
			map[string]any{"since": since.Format(time.RFC3339), "rollups": len(rows)})
	})
	return wrap(err, "import history")
}
