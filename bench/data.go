package bench

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
)

// writer fills a throw-away database with thousands of devices and a year
// of history. It skips validation, the audit log and the outage state
// machine, and writes many rows per statement: that is why it lives here,
// on the benchmark's own gorm handle, and not on the production Store.
type writer struct {
	db *gorm.DB
}

// neverLeased is the lease time of a check no instance holds, as
// CreateDevice writes it.
var neverLeased = time.Unix(0, 0).UTC()

// bulkRows is the rows per INSERT for a table of cols columns: about 2,000
// placeholders a statement. More would save MySQL few round trips, and the
// SQLite driver binds arguments in time quadratic in their number, so much
// larger statements get slower, not faster.
func bulkRows(cols int) int { return max(1, 2000/cols) }

// bulkDevice is a device with its checks, for createDevices.
type bulkDevice struct {
	Device models.Device
	Checks []models.Check
}

// createDevices writes devices and their checks in a few multi-row
// INSERTs, in one transaction, and fills in their IDs. Each check gets its
// device's ID and organization; a check's zero Status, LeaseUntil and
// timestamps get the values CreateDevice would give.
func (w writer) createDevices(ctx context.Context, ds []bulkDevice) error {
	if len(ds) == 0 {
		return nil
	}
	now := time.Now().UTC()
	return w.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		devs := make([]models.Device, len(ds))
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
			return fmt.Errorf("bench: bulk devices: %w", err)
		}
		var checks []models.Check
		for i := range ds {
			ds[i].Device = devs[i]
			for j := range ds[i].Checks {
				c := ds[i].Checks[j]
				c.DeviceID, c.OrgID = devs[i].ID, devs[i].OrgID
				if c.Status == "" {
					c.Status = models.StatusUnknown
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
			return fmt.Errorf("bench: bulk checks: %w", err)
		}
		k := 0
		for i := range ds {
			for j := range ds[i].Checks {
				ds[i].Checks[j] = checks[k]
				k++
			}
		}
		return nil
	})
}

// insertResults writes raw probe results as they are, many rows per
// statement, without rollups or check state.
func (w writer) insertResults(ctx context.Context, rs []models.ProbeResult) error {
	if len(rs) == 0 {
		return nil
	}
	return w.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rs, bulkRows(5)).Error; err != nil {
			return fmt.Errorf("bench: bulk results: %w", err)
		}
		return nil
	})
}

// insertRollups writes hourly and daily rollups as they are, many rows per
// statement.
func (w writer) insertRollups(ctx context.Context, rs []models.Rollup) error {
	if len(rs) == 0 {
		return nil
	}
	return w.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rs, bulkRows(10)).Error; err != nil {
			return fmt.Errorf("bench: bulk rollups: %w", err)
		}
		return nil
	})
}

// insertOutage writes an outage with its evidence and fills in its ID. An
// outage still open also marks its check down, as the prober would have.
func (w writer) insertOutage(ctx context.Context, o *models.Outage, evidence []models.OutageProbe) error {
	err := w.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if o.Cause == "" {
			o.Cause = models.CauseUnknown
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
		return tx.Model(&models.Check{}).Where("id = ?", o.CheckID).Updates(map[string]any{
			"status": models.StatusDown, "open_outage_id": o.ID, "consec_fails": o.Failures, "fail_since": o.StartedAt,
			"last_ok": false, "last_reason": models.ReasonTimeout,
		}).Error
	})
	if err != nil {
		return fmt.Errorf("bench: outage of check %d: %w", o.CheckID, err)
	}
	return nil
}
