package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 7.
type (
	closedMonthV7 struct {
		OrgID    int64  `gorm:"primaryKey;autoIncrement:false"`
		Month    string `gorm:"primaryKey;size:7"`
		ClosedAt time.Time
		ClosedBy *int64
	}
	clockV7 struct {
		AuthorizedContacts *int
	}
	deductionV7 struct {
		ClockID int64 `gorm:"not null;uniqueIndex:idx_deduction_clock"`
	}
)

func (closedMonthV7) TableName() string { return "closed_months" }
func (clockV7) TableName() string       { return "sla_clocks" }
func (deductionV7) TableName() string   { return "deductions" }

// migrateNoticeOutcomes adds what lets a missed notice's outcome be derived
// again until its month closes: the closed months, the count of authorized
// contacts when a clock started (NULL on older clocks), and one line per
// missed clock (a day's second miss is a line too).
func migrateNoticeOutcomes(tx *gorm.DB) error {
	if err := createTables(tx, &closedMonthV7{}); err != nil {
		return err
	}
	m := tx.Migrator()
	if !m.HasColumn(&clockV7{}, "AuthorizedContacts") {
		if err := m.AddColumn(&clockV7{}, "AuthorizedContacts"); err != nil {
			return fmt.Errorf("add sla_clocks.authorized_contacts: %w", err)
		}
	}
	if !m.HasIndex(&deductionV7{}, "idx_deduction_clock") {
		if err := m.CreateIndex(&deductionV7{}, "idx_deduction_clock"); err != nil {
			return fmt.Errorf("add deductions unique clock index: %w", err)
		}
	}
	return nil
}
