package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 16.
type (
	orgV19 struct {
		ID          int64
		AdminUserID *int64
	}
	invitationV19 struct {
		ID          int64
		OrgID       int64     `gorm:"not null;index:idx_invitations_org"`
		UserID      int64     `gorm:"not null;index:idx_invitations_user"`
		TokenHash   string    `gorm:"size:64;not null;uniqueIndex:idx_invitations_token"`
		TokenSealed string    `gorm:"size:200;not null;default:''"`
		ExpiresAt   time.Time `gorm:"not null"`
		UsedAt      *time.Time
		CreatedBy   *int64
		CreatedAt   time.Time `gorm:"not null"`
	}
)

func (orgV19) TableName() string        { return "organizations" }
func (invitationV19) TableName() string { return "invitations" }

// migrateOrgAdmins adds the one customer user who administers an
// organization's users, and the invitations that administrator sends.
func migrateOrgAdmins(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasColumn(&orgV19{}, "AdminUserID") {
		if err := m.AddColumn(&orgV19{}, "AdminUserID"); err != nil {
			return fmt.Errorf("add organizations.admin_user_id: %w", err)
		}
	}
	return createTables(tx, &invitationV19{})
}
