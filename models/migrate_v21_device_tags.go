package models

import (
	"fmt"

	"gorm.io/gorm"
)

// Frozen structs of migration 21.
type (
	deviceTagV21 struct {
		DeviceID int64     `gorm:"primaryKey;autoIncrement:false"`
		Tag      string    `gorm:"primaryKey;size:32;index:idx_device_tags_org_tag,priority:2;index:idx_device_tags_tag,priority:1"`
		OrgID    int64     `gorm:"not null;index:idx_device_tags_org_tag,priority:1"`
		Device   *deviceV2 `gorm:"foreignKey:DeviceID;constraint:OnDelete:CASCADE"`
	}
	deviceV21 struct {
		OrgID   int64  `gorm:"index:idx_devices_org_cabinet,priority:1"`
		Cabinet string `gorm:"size:40;index:idx_devices_org_cabinet,priority:2;index:idx_devices_cabinet,priority:1"`
	}
)

func (deviceTagV21) TableName() string { return "device_tags" }
func (deviceV21) TableName() string    { return "devices" }

// migrateDeviceTags adds the devices' tags (short labels, lower case; a
// device's tags by device, an organization's by organization and tag, the
// fleet's by tag) and indexes devices by cabinet, within an organization
// (the uptime page's cabinet filter and its choices) and across them (the
// fleet's).
func migrateDeviceTags(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasTable(&deviceTagV21{}) {
		if err := m.CreateTable(&deviceTagV21{}); err != nil {
			return fmt.Errorf("add device_tags: %w", err)
		}
	}
	for _, name := range []string{"idx_devices_org_cabinet", "idx_devices_cabinet"} {
		if !m.HasIndex(&deviceV21{}, name) {
			if err := m.CreateIndex(&deviceV21{}, name); err != nil {
				return fmt.Errorf("add %s: %w", name, err)
			}
		}
	}
	return nil
}
