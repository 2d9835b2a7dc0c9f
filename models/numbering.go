package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Kinds of numbered records. Each customer-visible record is quoted by a
// number of its own organization and year (OP-2026-0007), never by its
// global ID, which would tell a customer how busy the others are. The ID
// stays the key in the database; URLs carry a random reference (Ref).
const (
	NumberOperation = "operation"
)

// numberPrefixes are how each kind's numbers start.
var numberPrefixes = map[string]string{NumberOperation: "OP", NumberVisit: "VR", NumberComplaint: "CP",
	NumberContract: "CT", NumberPowerIncident: "PI", NumberMaintenance: "MW",
	NumberShipment: "SH", NumberShipmentOut: "SO"}

// FormatNumber is how people quote record seq of kind in year.
func FormatNumber(kind string, year, seq int) string {
	return fmt.Sprintf("%s-%d-%04d", numberPrefixes[kind], year, seq)
}

// recordCounter is the last number given to a kind of record of an
// organization in a year (of the provider's calendar).
type recordCounter struct {
	Kind       string `gorm:"size:20;primaryKey"`
	OrgID      int64  `gorm:"primaryKey;autoIncrement:false"`
	Year       int    `gorm:"primaryKey;autoIncrement:false"`
	LastNumber int    `gorm:"not null;default:0"`
}

func (recordCounter) TableName() string { return "record_counters" }

// prepareNumber makes sure the counter row of kind, orgID and the year of
// now exists, and returns that year. Call it before the creating
// transaction, and nextNumber inside it: the row then exists, so the
// transaction's UPDATE locks one row and parallel creations queue on it,
// where an insert of a missing row inside the transaction would deadlock
// on MySQL's gap locks (and on SQLite a second connection cannot write
// while a transaction holds the lock).
func (s *Store) prepareNumber(ctx context.Context, kind string, orgID int64, now time.Time) (int, error) {
	year := now.In(s.zone).Year()
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&recordCounter{Kind: kind, OrgID: orgID, Year: year}).Error
	if err != nil {
		return 0, fmt.Errorf("models: prepare %s number of organization %d: %w", kind, orgID, err)
	}
	return year, nil
}

// nextNumber takes the next number of kind for orgID in year, in tx, the
// transaction that creates the record: a rolled back creation gives its
// number back, so numbers have no gaps, and the row lock gives each number
// once. prepareNumber must have run first.
func nextNumber(tx *gorm.DB, kind string, orgID int64, year int) (int, error) {
	res := tx.Model(&recordCounter{}).Where("kind = ? AND org_id = ? AND year = ?", kind, orgID, year).
		Update("last_number", gorm.Expr("last_number + 1"))
	if res.Error != nil {
		return 0, fmt.Errorf("models: next %s number: %w", kind, res.Error)
	}
	if res.RowsAffected != 1 {
		return 0, fmt.Errorf("models: next %s number: no counter for organization %d in %d", kind, orgID, year)
	}
	var c recordCounter
	if err := forUpdate(tx).Where("kind = ? AND org_id = ? AND year = ?", kind, orgID, year).Take(&c).Error; err != nil {
		return 0, fmt.Errorf("models: next %s number: %w", kind, err)
	}
	return c.LastNumber, nil
}
