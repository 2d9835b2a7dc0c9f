package models

import (
	"fmt"

	"gorm.io/gorm"
)

// Frozen structs of migration 18.
type (
	checkV18 struct {
		DeviceID int64  `gorm:"index:idx_checks_device_state,priority:1;index:idx_checks_state_device,priority:3"`
		Enabled  bool   `gorm:"index:idx_checks_device_state,priority:2;index:idx_checks_state_device,priority:2"`
		Status   string `gorm:"size:10;index:idx_checks_device_state,priority:3;index:idx_checks_state_device,priority:1"`
	}
	deviceV18 struct {
		ID    int64  `gorm:"index:idx_devices_org_name,priority:3"`
		OrgID int64  `gorm:"index:idx_devices_org_name,priority:1"`
		Name  string `gorm:"size:200;index:idx_devices_org_name,priority:2"`
	}
	orgV18 struct {
		ID   int64  `gorm:"index:idx_organizations_name,priority:2"`
		Name string `gorm:"size:200;index:idx_organizations_name,priority:1"`
	}
)

func (checkV18) TableName() string  { return "checks" }
func (deviceV18) TableName() string { return "devices" }
func (orgV18) TableName() string    { return "organizations" }

// migrateFleetIndexes indexes what the fleet page reads at 50,000
// devices without aggregating every check: the checks that are not up
// (by state), each device's enabled checks and their states (by device,
// answered from the index alone), and devices in the page's order
// (organization name, device name), so that a page walks the index and
// stops instead of sorting the fleet.
func migrateFleetIndexes(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, ix := range []struct {
		model any
		name  string
	}{
		{&checkV18{}, "idx_checks_device_state"},
		{&checkV18{}, "idx_checks_state_device"},
		{&deviceV18{}, "idx_devices_org_name"},
		{&orgV18{}, "idx_organizations_name"},
	} {
		if !m.HasIndex(ix.model, ix.name) {
			if err := m.CreateIndex(ix.model, ix.name); err != nil {
				return fmt.Errorf("add %s: %w", ix.name, err)
			}
		}
	}
	return nil
}
