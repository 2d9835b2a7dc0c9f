package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 19.
type (
	noticeV19 struct {
		ID        int64      `gorm:"primaryKey"`
		OrgID     int64      `gorm:"not null;index:idx_notices_open,priority:1"`
		Kind      string     `gorm:"size:10;not null;index:idx_notices_open,priority:2"`
		FirstAt   time.Time  `gorm:"not null"`
		SendAt    time.Time  `gorm:"not null"`
		SealedAt  *time.Time `gorm:"index:idx_notices_open,priority:3"`
		CreatedAt time.Time
	}
	noticeOutageV19 struct {
		NoticeID int64     `gorm:"primaryKey;autoIncrement:false"`
		OutageID int64     `gorm:"primaryKey;autoIncrement:false;index"`
		OrgID    int64     `gorm:"not null"`
		JoinedAt time.Time `gorm:"not null"`
	}
	deliveryV19 struct {
		NoticeID   int64 `gorm:"not null;default:0;index"`
		MergedInto int64 `gorm:"not null;default:0;index"`
		Held       bool  `gorm:"not null;default:false"`
	}
)

func (noticeV19) TableName() string       { return "notices" }
func (noticeOutageV19) TableName() string { return "notice_outages" }
func (deliveryV19) TableName() string     { return "deliveries" }

// migrateGroupedNotices adds notices that cover several outages of one
// organization (one email, webhook call or call task per contact and
// channel for a mass outage), the outages each covers, and on deliveries
// the notice they carry, the storm summary a held one was merged into,
// and whether storm control held it.
func migrateGroupedNotices(tx *gorm.DB) error {
	if err := createTables(tx, &noticeV19{}, &noticeOutageV19{}); err != nil {
		return err
	}
	m := tx.Migrator()
	for _, col := range []string{"NoticeID", "MergedInto", "Held"} {
		if !m.HasColumn(&deliveryV19{}, col) {
			if err := m.AddColumn(&deliveryV19{}, col); err != nil {
				return fmt.Errorf("add deliveries.%s: %w", col, err)
			}
		}
	}
	for _, ix := range []string{"idx_deliveries_notice_id", "idx_deliveries_merged_into"} {
		if !m.HasIndex(&deliveryV19{}, ix) {
			if err := m.CreateIndex(&deliveryV19{}, ix); err != nil {
				return fmt.Errorf("add %s: %w", ix, err)
			}
		}
	}
	return nil
}
