package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen struct of migration 10.
type clockV10 struct {
	OrgID      int64     `gorm:"index:idx_clock_notice_day,priority:1"`
	Kind       string    `gorm:"size:40;index:idx_clock_notice_day,priority:2"`
	Outcome    string    `gorm:"size:10;index:idx_clock_notice_day,priority:3"`
	DeadlineAt time.Time `gorm:"index:idx_clock_notice_day,priority:4"`
}

func (clockV10) TableName() string { return "sla_clocks" }

// migrateNoticeDayIndex indexes the clocks by the columns the locking read
// of reevaluateNoticeDay filters on (organization, kind, outcome,
// deadline): on MySQL a FOR UPDATE locks the index entries it scans, so
// without it the read locked every clock of the organization (through the
// org_id index), and re-derivations of different days waited for each other.
func migrateNoticeDayIndex(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasIndex(&clockV10{}, "idx_clock_notice_day") {
		if err := m.CreateIndex(&clockV10{}, "idx_clock_notice_day"); err != nil {
			return fmt.Errorf("add sla_clocks notice day index: %w", err)
		}
	}
	return nil
}
