package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Bulk writers for `portal bench`, which fills throw-away databases with
// thousands of devices and a year of history. They skip validation, the
// audit log and the outage state machine, and write many rows per
// statement: nothing but the benchmark may use them.

// bulkRows is the rows per INSERT of the bulk writers for a table of cols
// columns: about 2,000 placeholders a statement. More would save MySQL few
// round trips, and the SQLite driver binds arguments in time quadratic in
// their number, so much larger statements get slower, not faster.
func bulkRows(cols int) int { return max(1, 2000/cols) }

// BulkDevice is a device with its checks, for BulkCreateDevices.
type BulkDevice struct {
	Device Device
	Checks []Check
}

// BulkCreateDevices writes devices and their checks in a few multi-row
// INSERTs, in one transaction, and fills in their IDs (bench only). Each
// check gets its device's ID and organization; a check's zero Status,
// LeaseUntil and timestamps get the values CreateDevice would give.
func (s *Store) BulkCreateDevices(ctx context.Context, ds []BulkDevice) error {
	if len(ds) == 0 {
		return nil
	}
	now := s.now()
	return wrap(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		devs := make([]Device, len(ds))
		for i := range ds {
			devs[i] = ds[i].Device
			if devs[i].CreatedAt.IsZero() {
				devs[i].CreatedAt = now
			}
			if devs[i].UpdatedAt.IsZero() {
				devs[i].UpdatedAt = devs[i].CreatedAt
			}
		}
		if err := tx.CreateInBatches(devs, bulkRows(9)).Error; err != nil {
			return fmt.Errorf("models: bulk devices: %w", err)
		}
		var checks []Check
		for i := range ds {
			ds[i].Device = devs[i]
			for j := range ds[i].Checks {
				c := ds[i].Checks[j]
				c.DeviceID, c.OrgID = devs[i].ID, devs[i].OrgID
				if c.Status == "" {
					c.Status = StatusUnknown
				}
				if c.LeaseUntil.IsZero() {
					c.LeaseUntil = neverLeased
				}
				if c.CreatedAt.IsZero() {
					c.CreatedAt = devs[i].CreatedAt
				}
				if c.UpdatedAt.IsZero() {
					c.UpdatedAt = now
				}
				checks = append(checks, c)
			}
		}
		if len(checks) == 0 {
			return nil
		}
		if err := tx.CreateInBatches(checks, bulkRows(25)).Error; err != nil {
			return fmt.Errorf("models: bulk checks: %w", err)
		}
		k := 0
		for i := range ds {
			for j := range ds[i].Checks {
				ds[i].Checks[j] = checks[k]
				k++
			}
		}
		return nil
	}), "bulk create devices")
}

// BulkInsertResults writes raw probe results as they are, many rows per
// statement, without rollups or check state (bench only).
func (s *Store) BulkInsertResults(ctx context.Context, rs []ProbeResult) error {
	if len(rs) == 0 {
		return nil
	}
	return wrap(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(rs, bulkRows(5)).Error
	}), "bulk insert results")
}

// BulkInsertRollups writes hourly and daily rollups as they are, many rows
// per statement (bench only).
func (s *Store) BulkInsertRollups(ctx context.Context, rs []Rollup) error {
	if len(rs) == 0 {
		return nil
	}
	return wrap(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(rs, bulkRows(10)).Error
	}), "bulk insert rollups")
}

// BulkInsertOutage writes an outage with its evidence and fills in its ID
// (bench only). An outage still open also marks its check down, as the
// prober would have.
func (s *Store) BulkInsertOutage(ctx context.Context, o *Outage, evidence []OutageProbe) error {
	return wrap(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if o.Cause == "" {
			o.Cause = CauseUnknown
		}
		if err := tx.Create(o).Error; err != nil {
			return err
		}
		for i := range evidence {
			evidence[i].OutageID = o.ID
		}
		if len(evidence) > 0 {
			if err := tx.CreateInBatches(evidence, bulkRows(3)).Error; err != nil {
				return err
			}
		}
		if o.EndedAt != nil {
			return nil
		}
		return tx.Model(&Check{}).Where("id = ?", o.CheckID).Updates(map[string]any{
			"status": StatusDown, "open_outage_id": o.ID, "consec_fails": o.Failures, "fail_since": o.StartedAt,
			"last_ok": false, "last_reason": ReasonTimeout,
		}).Error
	}), "bulk insert outage")
}
