package models

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// RerunMigrations runs every migration step's function once more on a
// migrated database, as an interrupted or repeated run would: each must be
// safe to run again.
func RerunMigrations(ctx context.Context, s *Store) error {
	db := s.db.WithContext(withMigrationZone(ctx, s.zone))
	for _, m := range migrations {
		if err := m.Up(db); err != nil {
			return fmt.Errorf("migration %d again: %w", m.Version, err)
		}
	}
	return nil
}

// RunTx runs fn through the Store's transaction helper (tx), at READ
// COMMITTED with rc.
func RunTx(ctx context.Context, s *Store, rc bool, fn func(tx *gorm.DB) error) error {
	if rc {
		return s.tx(ctx, fn, readCommitted)
	}
	return s.tx(ctx, fn)
}

// OnTxRetry makes s call f with each error a transaction is run again after.
func OnTxRetry(s *Store, f func(error)) { s.txRetried = f }

// SetTxAttempts bounds the runs of one transaction of s.
func SetTxAttempts(s *Store, n int) { s.txAttempts = n }

// RetryableTx is retryableTx.
func RetryableTx(err error) bool { return retryableTx(err) }

// ShareTargets is shareTargets, for its table test.
func ShareTargets(total int, live []ProberInstance) map[string]int { return shareTargets(total, live) }

// StoredRollups lists the rollups of check checkID and period as stored
// (built by the janitor or imported), oldest first.
func StoredRollups(ctx context.Context, s *Store, checkID int64, period string) ([]Rollup, error) {
	var rs []Rollup
	err := s.db.WithContext(ctx).Where("check_id = ? AND period = ?", checkID, period).Order("start").Find(&rs).Error
	return rs, err
}

// SetRollupChecksPerStatement sets how many checks one rollup statement
// builds, and returns a func that puts it back.
func SetRollupChecksPerStatement(n int) func() {
	was := rollupChecksPerStatement
	rollupChecksPerStatement = n
	return func() { rollupChecksPerStatement = was }
}

// MigrateTo applies the migrations up to version v and no further, on a
// database with none applied, as an older binary would have.
func MigrateTo(ctx context.Context, s *Store, v int) error {
	db := s.db.WithContext(withMigrationZone(ctx, s.zone))
	if err := db.Migrator().AutoMigrate(&schemaMigration{}); err != nil {
		return err
	}
	for _, m := range migrations {
		if m.Version > v {
			break
		}
		if err := m.Up(db); err != nil {
			return fmt.Errorf("migration %d: %w", m.Version, err)
		}
		if err := db.Create(&schemaMigration{Version: m.Version, Name: m.Name, AppliedAt: s.now()}).Error; err != nil {
			return err
		}
	}
	return nil
}

// SetResultsPerInsert sets the rows of one INSERT of results, and returns
// a func that puts it back.
func SetResultsPerInsert(n int) func() {
	was := resultsPerInsert
	resultsPerInsert = n
	return func() { resultsPerInsert = was }
}

// SetIncidentCauseChunk sets how many outages one transaction of
// SetIncidentCause changes, and returns a func that puts it back.
func SetIncidentCauseChunk(n int) func() {
	was := incidentCauseChunk
	incidentCauseChunk = n
	return func() { incidentCauseChunk = was }
}

// JoinIncident is joinIncident: inc as read by a detection pass, perhaps
// resolved since.
func JoinIncident(ctx context.Context, s *Store, inc *Incident, window time.Duration) (bool, error) {
	return s.joinIncident(ctx, inc, window)
}

// InsertContract stores contract c of organization c.OrgID covering
// cabinets and devices as it stands, without the rules CreateContract
// checks, for the statement's tests.
func InsertContract(ctx context.Context, s *Store, c *Contract, cabinets []string, devices []int64) error {
	db := s.db.WithContext(ctx)
	if c.Ref == "" {
		c.Ref = newRef()
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if c.Renewal == "" {
		c.Renewal = RenewalAuto
	}
	if err := db.Create(c).Error; err != nil {
		return err
	}
	for _, cab := range cabinets {
		if err := db.Create(&ContractTarget{ContractID: c.ID, OrgID: c.OrgID, Cabinet: cab}).Error; err != nil {
			return err
		}
	}
	for _, d := range devices {
		if err := db.Create(&ContractTarget{ContractID: c.ID, OrgID: c.OrgID, DeviceID: &d}).Error; err != nil {
			return err
		}
	}
	return nil
}

// InsertPowerIncident stores p and its targets as they stand.
func InsertPowerIncident(ctx context.Context, s *Store, p *PowerIncident, targets []PowerTarget) error {
	db := s.db.WithContext(ctx)
	if p.Ref == "" {
		p.Ref = newRef()
	}
	utc(&p.StartedAt) // as the Store writes times
	p.EndedAt = utcPtr(p.EndedAt)
	if err := db.Create(p).Error; err != nil {
		return err
	}
	for _, t := range targets {
		t.IncidentID = p.ID
		if err := db.Create(&t).Error; err != nil {
			return err
		}
	}
	return nil
}

// InsertInstallationOrder stores o as it stands.
func InsertInstallationOrder(ctx context.Context, s *Store, o *InstallationOrder) error {
	utc(&o.SignedAt, &o.DueAt) // as the Store writes times
	o.CompletedAt = utcPtr(o.CompletedAt)
	return s.db.WithContext(ctx).Create(o).Error
}

// ForgetStatement deletes the stored statement of a closed month, as a
// month closed before migration 24 has none.
func ForgetStatement(ctx context.Context, s *Store, orgID int64, month string) error {
	return s.db.WithContext(ctx).Where("org_id = ? AND month = ?", orgID, month).Delete(&StatementRecord{}).Error
}

var queryCounters atomic.Int64

// CountQueries counts the statements the store's database runs from now
// on (reads and raw statements).
func CountQueries(s *Store) *atomic.Int64 {
	n := new(atomic.Int64)
	f := func(*gorm.DB) { n.Add(1) }
	id := queryCounters.Add(1)
	cb := s.db.Callback()
	_ = cb.Query().After("gorm:query").Register(fmt.Sprintf("count:q%d", id), f)
	_ = cb.Raw().After("gorm:raw").Register(fmt.Sprintf("count:r%d", id), f)
	_ = cb.Row().After("gorm:row").Register(fmt.Sprintf("count:row%d", id), f)
	return n
}
