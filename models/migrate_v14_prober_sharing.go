package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 14.
type checkV14 struct {
	LeaseOwner string     `gorm:"size:64;not null;default:'';index:idx_checks_lease_owner,priority:1"`
	LeaseUntil time.Time  `gorm:"not null;index:idx_checks_lease_owner,priority:2"`
	LeaseFrom  *time.Time `gorm:"column:lease_from"`
}

func (checkV14) TableName() string { return "checks" }

type proberInstanceV14 struct {
	ID        string    `gorm:"primaryKey;size:64"`
	SeenUntil time.Time `gorm:"not null"`
	MaxChecks int       `gorm:"not null;default:0"`
	ICMP      bool      `gorm:"column:icmp;not null;default:false"`
}

func (proberInstanceV14) TableName() string { return "prober_instances" }

// migrateProberSharing lets instances share the checks: a table where each
// prober says it is alive (and how many checks it can take), the time each
// lease starts (a check handed over is probed by the new owner from the old
// lease's end, not before), and an index on the lease owner. Without the
// index a renewal (UPDATE … WHERE lease_owner = ?) scanned and, on InnoDB,
// locked every row of checks, and deadlocked with the other instance's
// result writer.
func migrateProberSharing(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasColumn(&checkV14{}, "LeaseFrom") {
		if err := m.AddColumn(&checkV14{}, "LeaseFrom"); err != nil {
			return fmt.Errorf("add checks.lease_from: %w", err)
		}
	}
	if !m.HasIndex(&checkV14{}, "idx_checks_lease_owner") {
		if err := m.CreateIndex(&checkV14{}, "idx_checks_lease_owner"); err != nil {
			return fmt.Errorf("add checks lease owner index: %w", err)
		}
	}
	if !m.HasTable(&proberInstanceV14{}) {
		if err := m.CreateTable(&proberInstanceV14{}); err != nil {
			return fmt.Errorf("create prober_instances: %w", err)
		}
	}
	return nil
}
