package models

import (
	"time"

	"gorm.io/gorm"
)

// Frozen struct of migration 9.
type signInLockV9 struct {
	Name   string    `gorm:"primaryKey;size:64"`
	UsedAt time.Time `gorm:"not null;index"`
}

func (signInLockV9) TableName() string { return "sign_in_locks" }

// migrateSignInLocks adds the lock rows a sign-in takes, one per account
// and one per client address, while it counts failures and reserves its
// attempt (see reserveSignIn).
func migrateSignInLocks(tx *gorm.DB) error { return createTables(tx, &signInLockV9{}) }
