package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// correctionV25 is the frozen struct of migration 25.
type correctionV25 struct {
	OrgID       int64  `gorm:"primaryKey;autoIncrement:false"`
	Month       string `gorm:"size:7;primaryKey"`
	CorrectedAt time.Time
	Org         *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:CASCADE"`
}

func (correctionV25) TableName() string { return "statement_corrections" }

// migrateCorrections adds the closed months whose records changed after
// closing: only those are computed again for the next open statement's
// adjusting lines.
func migrateCorrections(tx *gorm.DB) error {
	if m := tx.Migrator(); !m.HasTable(&correctionV25{}) {
		if err := m.CreateTable(&correctionV25{}); err != nil {
			return fmt.Errorf("add statement_corrections: %w", err)
		}
	}
	return nil
}
