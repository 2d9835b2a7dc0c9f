package models

import (
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 1.
type (
	orgV1 struct {
		ID               int64  `gorm:"primaryKey"`
		Slug             string `gorm:"size:64;not null;uniqueIndex"`
		Name             string `gorm:"size:200;not null"`
		ContactAddress   string `gorm:"size:500;not null;default:''"`
		ServiceRepUserID *int64 `gorm:"index"`
		EngineerUserID   *int64 `gorm:"index"`
		CreatedAt        time.Time
		UpdatedAt        time.Time
	}
	userV1 struct {
		ID                int64  `gorm:"primaryKey"`
		Email             string `gorm:"size:254;not null;uniqueIndex"`
		Name              string `gorm:"size:200;not null"`
		Phone             string `gorm:"size:40;not null;default:''"`
		Role              string `gorm:"size:20;not null;index"`
		OrgID             *int64 `gorm:"index"`
		PasswordHash      string `gorm:"size:200;not null"`
		PasswordChangedAt time.Time
		Locale            string `gorm:"size:10;not null;default:''"`
		DisabledAt        *time.Time
		TOTPSecret        string `gorm:"column:totp_secret;size:500;not null;default:''"`
		TOTPPending       string `gorm:"column:totp_pending;size:500;not null;default:''"`
		TOTPEnabled       bool   `gorm:"column:totp_enabled;not null;default:false"`
		TOTPRequired      bool   `gorm:"column:totp_required;not null;default:false"`
		TOTPLastStep      int64  `gorm:"column:totp_last_step;not null;default:0"`
		LastSignInAt      *time.Time
		CreatedAt         time.Time
		UpdatedAt         time.Time
		Org               *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:RESTRICT"`
	}
	sessionV1 struct {
		IDHash     string `gorm:"column:id_hash;size:64;primaryKey"`
		UserID     int64  `gorm:"not null;index"`
		Stage      string `gorm:"size:10;not null"`
		CreatedAt  time.Time
		LastSeenAt time.Time
		ExpiresAt  time.Time `gorm:"index"`
		IP         string    `gorm:"column:ip;size:64;not null;default:''"`
		UserAgent  string    `gorm:"size:300;not null;default:''"`
		User       *userV1   `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
	}
	signInAttemptV1 struct {
		ID      int64     `gorm:"primaryKey"`
		Email   string    `gorm:"size:254;not null;index:idx_attempt_email_at,priority:1"`
		IP      string    `gorm:"column:ip;size:64;not null;index:idx_attempt_ip_at,priority:1"`
		At      time.Time `gorm:"not null;index:idx_attempt_email_at,priority:2;index:idx_attempt_ip_at,priority:2"`
		Success bool      `gorm:"not null"`
	}
	auditEventV1 struct {
		ID         int64     `gorm:"primaryKey"`
		At         time.Time `gorm:"not null;index"`
		ActorID    *int64    `gorm:"index"`
		ActorEmail string    `gorm:"size:254;not null;default:''"`
		Action     string    `gorm:"size:60;not null;index"`
		TargetType string    `gorm:"size:40;not null;default:''"`
		TargetID   *int64
		OrgID      *int64 `gorm:"index"`
		IP         string `gorm:"column:ip;size:64;not null;default:''"`
		Detail     string `gorm:"type:text"`
	}
)

func (orgV1) TableName() string           { return "organizations" }
func (userV1) TableName() string          { return "users" }
func (sessionV1) TableName() string       { return "sessions" }
func (signInAttemptV1) TableName() string { return "sign_in_attempts" }
func (auditEventV1) TableName() string    { return "audit_events" }

func migrateFoundation(tx *gorm.DB) error {
	return createTables(tx, &orgV1{}, &userV1{}, &sessionV1{}, &signInAttemptV1{}, &auditEventV1{})
}
