package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 15.
type (
	recoveryCodeV18 struct {
		ID        int64
		UserID    int64  `gorm:"not null;index:idx_recovery_codes_user"`
		CodeHash  string `gorm:"size:64;not null;uniqueIndex:idx_recovery_codes_hash"`
		UsedAt    *time.Time
		CreatedAt time.Time `gorm:"not null"`
	}
	userV18 struct {
		ID                 int64
		MustChangePassword bool `gorm:"not null;default:false"`
	}
	sessionV18 struct {
		IDHash string `gorm:"column:id_hash;primaryKey"`
		Locale string `gorm:"size:10;not null;default:''"`
	}
)

func (recoveryCodeV18) TableName() string { return "recovery_codes" }
func (userV18) TableName() string         { return "users" }
func (sessionV18) TableName() string      { return "sessions" }

// migrateAccountSecurity adds the second factor's recovery codes (hashes
// only), the flag that makes a user change an admin-given password at the
// next sign-in, and the language a session was signed in with.
func migrateAccountSecurity(tx *gorm.DB) error {
	if err := createTables(tx, &recoveryCodeV18{}); err != nil {
		return err
	}
	m := tx.Migrator()
	if !m.HasColumn(&userV18{}, "MustChangePassword") {
		if err := m.AddColumn(&userV18{}, "MustChangePassword"); err != nil {
			return fmt.Errorf("add users.must_change_password: %w", err)
		}
	}
	if !m.HasColumn(&sessionV18{}, "Locale") {
		if err := m.AddColumn(&sessionV18{}, "Locale"); err != nil {
			return fmt.Errorf("add sessions.locale: %w", err)
		}
	}
	return nil
}
