package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migration is one versioned step of the schema. Each step declares its own
// frozen table structs, so later changes to the live structs never change
// what an old step does, and creates only what does not exist yet, so a step
// interrupted half way can simply run again.
type migration struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB) error
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Name      string `gorm:"size:120;not null"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// migrations is the ordered list of every schema step. Append only.
var migrations = []migration{
	{1, "foundation: organizations, users, sessions, sign-in attempts, audit log", migrateFoundation},
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int { return migrations[len(migrations)-1].Version }

// Migrate applies pending migrations in order and returns how many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	db := s.db.WithContext(ctx)
	if err := db.Migrator().AutoMigrate(&schemaMigration{}); err != nil {
		return 0, fmt.Errorf("models: create schema_migrations: %w", err)
	}
	var done []int
	if err := db.Model(&schemaMigration{}).Pluck("version", &done).Error; err != nil {
		return 0, fmt.Errorf("models: read schema version: %w", err)
	}
	applied := map[int]bool{}
	for _, v := range done {
		applied[v] = true
	}
	n := 0
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		// DDL commits implicitly on MySQL, so a step is not one transaction;
		// each step is written to be safe to run again instead.
		if err := m.Up(db); err != nil {
			return n, fmt.Errorf("models: migration %d (%s): %w", m.Version, m.Name, err)
		}
		rec := schemaMigration{Version: m.Version, Name: m.Name, AppliedAt: s.now()}
		if err := db.Create(&rec).Error; err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
			return n, fmt.Errorf("models: record migration %d: %w", m.Version, err)
		}
		n++
	}
	return n, nil
}

// AppliedVersions lists the versions recorded in the schema table.
func (s *Store) AppliedVersions(ctx context.Context) ([]int, error) {
	var done []int
	err := s.db.WithContext(ctx).Model(&schemaMigration{}).Order("version").Pluck("version", &done).Error
	return done, err
}

// createTables creates each table that does not exist yet, with its indexes.
func createTables(tx *gorm.DB, tables ...any) error {
	if tx.Dialector.Name() == "mysql" {
		// Binary collation compares text the way SQLite does: the same
		// rules on both databases (case is folded by the code, not the
		// collation, and 'josé' is not 'jose').
		tx = tx.Set("gorm:table_options", "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	}
	m := tx.Migrator()
	for _, t := range tables {
		if m.HasTable(t) {
			continue
		}
		if err := m.CreateTable(t); err != nil {
			return err
		}
	}
	return nil
}

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
