package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 29.
type (
	standingAccessV29 struct {
		ID          int64
		OrgID       int64  `gorm:"not null;index:idx_standing_access_org_name,priority:1"`
		Ref         string `gorm:"size:16;not null;uniqueIndex:idx_standing_access_ref"`
		Name        string `gorm:"size:100;not null;index:idx_standing_access_org_name,priority:2"`
		Company     string `gorm:"size:100;not null;default:''"`
		IDType      string `gorm:"column:id_type;size:24;not null"`
		IDSealed    string `gorm:"column:id_sealed;size:255;not null;default:''"`
		IDMasked    string `gorm:"column:id_masked;size:40;not null;default:''"`
		PhoneSealed string `gorm:"size:255;not null;default:''"`
		PhoneMasked string `gorm:"size:40;not null;default:''"`
		Locale      string `gorm:"size:8;not null"`
		// ValidFrom and ValidTo are days of the portal's zone
		// (YYYY-MM-DD), both included.
		ValidFrom      string `gorm:"size:10;not null"`
		ValidTo        string `gorm:"size:10;not null;index:idx_standing_access_to"`
		EscortRequired bool   `gorm:"not null;default:false"`
		Note           string `gorm:"type:text;not null"`
		PassVersion    int64  `gorm:"not null;default:1"`
		CreatedBy      *int64
		CreatedAt      time.Time `gorm:"not null"`
		UpdatedAt      time.Time `gorm:"not null"`
		RevokedAt      *time.Time
		RevokedBy      *int64
		RevokeReason   string `gorm:"size:500;not null;default:''"`
		PurgedAt       *time.Time
		Org            *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:CASCADE"`
	}
	standingCabinetV29 struct {
		AccessID int64              `gorm:"primaryKey;autoIncrement:false"`
		Cabinet  string             `gorm:"primaryKey;size:40"`
		OrgID    int64              `gorm:"not null"`
		Access   *standingAccessV29 `gorm:"foreignKey:AccessID;constraint:OnDelete:CASCADE"`
	}
	standingEntryV29 struct {
		ID              int64
		AccessID        int64     `gorm:"not null;index:idx_standing_entries_access,priority:1"`
		OrgID           int64     `gorm:"not null;index:idx_standing_entries_org_in,priority:1"`
		InAt            time.Time `gorm:"not null;index:idx_standing_entries_org_in,priority:2;index:idx_standing_entries_in"`
		InBy            *int64
		Method          string `gorm:"size:8;not null"` // "token" or "hand"
		BadgeNumber     string `gorm:"size:40;not null;default:''"`
		EscortPresentID *int64
		OutAt           *time.Time `gorm:"index:idx_standing_entries_access,priority:2"`
		OutBy           *int64
		BadgeReturnedAt *time.Time
		Access          *standingAccessV29 `gorm:"foreignKey:AccessID;constraint:OnDelete:CASCADE"`
	}
)

func (standingAccessV29) TableName() string  { return "standing_access" }
func (standingCabinetV29) TableName() string { return "standing_access_cabinets" }
func (standingEntryV29) TableName() string   { return "standing_entries" }

// migrateStandingAccess adds customers' standing access lists: people who
// may enter without a visit request (identity numbers and phones sealed,
// masked copies for lists), the cabinets each may reach, and every entry
// and exit at reception.
func migrateStandingAccess(tx *gorm.DB) error {
	if err := createTables(tx, &standingAccessV29{}, &standingCabinetV29{}, &standingEntryV29{}); err != nil {
		return fmt.Errorf("add standing access: %w", err)
	}
	return nil
}
