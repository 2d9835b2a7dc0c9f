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
	{2, "prober: devices, checks, probe results, rollups, outages, outbox", migrateProber},
	{3, "notifications: contacts, confirmations, deliveries, SLA clocks, deductions", migrateNotify},
	{4, "operations: requests, authorizations, documents, messages, phone attempts", migrateOperations},
	{5, "audit hash chain: sequence, previous hash and hash on every audit event", migrateAuditChain},
	{9, "sign-in locks: one row per account and per address, locked while an attempt is reserved", migrateSignInLocks},
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
	return createTablesWith(tx, "", tables...)
}

// createTablesWith is createTables with extra SQLite table options, such as
// WITHOUT ROWID for tables keyed by their primary key alone.
func createTablesWith(tx *gorm.DB, sqliteOptions string, tables ...any) error {
	if tx.Dialector.Name() == "sqlite" && sqliteOptions != "" {
		tx = tx.Set("gorm:table_options", sqliteOptions)
	}
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

// Frozen structs of migration 2.
type (
	deviceV2 struct {
		ID        int64  `gorm:"primaryKey"`
		OrgID     int64  `gorm:"not null;index"`
		Name      string `gorm:"size:200;not null"`
		Address   string `gorm:"size:255;not null"`
		Cabinet   string `gorm:"size:40;not null;default:''"`
		Position  string `gorm:"size:40;not null;default:''"`
		Notes     string `gorm:"type:text"`
		CreatedAt time.Time
		UpdatedAt time.Time
		Org       *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:RESTRICT"`
	}
	checkV2 struct {
		ID            int64     `gorm:"primaryKey"`
		DeviceID      int64     `gorm:"not null;index"`
		OrgID         int64     `gorm:"not null;index"`
		Kind          string    `gorm:"size:10;not null"`
		Target        string    `gorm:"size:500;not null"`
		ExpectMin     int       `gorm:"not null;default:0"`
		ExpectMax     int       `gorm:"not null;default:0"`
		Keyword       string    `gorm:"size:200;not null;default:''"`
		StartTLS      bool      `gorm:"column:starttls;not null;default:false"`
		IntervalSec   int       `gorm:"not null"`
		TimeoutMs     int       `gorm:"not null"`
		FailThreshold int       `gorm:"not null"`
		Enabled       bool      `gorm:"not null;default:true"`
		LeaseOwner    string    `gorm:"size:64;not null;default:''"`
		LeaseUntil    time.Time `gorm:"not null;index"`
		Status        string    `gorm:"size:10;not null;default:'unknown'"`
		ConsecFails   int       `gorm:"not null;default:0"`
		FailSince     *time.Time
		LastAt        *time.Time
		LastOK        bool   `gorm:"column:last_ok;not null;default:false"`
		LastRTTus     int    `gorm:"column:last_rtt_us;not null;default:0"`
		LastReason    string `gorm:"size:40;not null;default:''"`
		CertExpiresAt *time.Time
		OpenOutageID  *int64
		CreatedAt     time.Time
		UpdatedAt     time.Time
		Device        *deviceV2 `gorm:"foreignKey:DeviceID;constraint:OnDelete:CASCADE"`
	}
	probeResultV2 struct {
		CheckID int64     `gorm:"primaryKey;autoIncrement:false"`
		At      time.Time `gorm:"primaryKey"`
		OK      bool      `gorm:"column:ok;not null"`
		RTTus   int       `gorm:"column:rtt_us;not null"`
		Reason  string    `gorm:"size:40;not null;default:''"`
	}
	rollupV2 struct {
		CheckID  int64     `gorm:"primaryKey;autoIncrement:false"`
		Period   string    `gorm:"primaryKey;size:1"`
		Start    time.Time `gorm:"primaryKey"`
		Probes   int       `gorm:"not null"`
		Failures int       `gorm:"not null"`
		RTTCount int       `gorm:"column:rtt_count;not null"`
		RTTSumUs int64     `gorm:"column:rtt_sum_us;not null"`
		RTTMinUs int       `gorm:"column:rtt_min_us;not null"`
		RTTMaxUs int       `gorm:"column:rtt_max_us;not null"`
		RTTMedUs int       `gorm:"column:rtt_med_us;not null;default:0"`
	}
	outageV2 struct {
		ID          int64      `gorm:"primaryKey"`
		CheckID     int64      `gorm:"not null;index:idx_outage_check,priority:1"`
		DeviceID    int64      `gorm:"not null;index:idx_outage_device,priority:1"`
		OrgID       int64      `gorm:"not null;index:idx_outage_org,priority:1"`
		StartedAt   time.Time  `gorm:"not null;index:idx_outage_check,priority:2;index:idx_outage_device,priority:2;index:idx_outage_org,priority:2"`
		ConfirmedAt time.Time  `gorm:"not null"`
		EndedAt     *time.Time `gorm:"index"`
		Cause       string     `gorm:"size:40;not null;default:'unknown'"`
		CauseNote   string     `gorm:"size:500;not null;default:''"`
		CauseSetBy  *int64
		Failures    int `gorm:"not null;default:0"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	outageProbeV2 struct {
		OutageID int64     `gorm:"primaryKey;autoIncrement:false"`
		At       time.Time `gorm:"primaryKey"`
		Reason   string    `gorm:"size:40;not null;default:''"`
	}
	outboxV2 struct {
		ID         int64      `gorm:"primaryKey"`
		Kind       string     `gorm:"size:40;not null;index"`
		OrgID      int64      `gorm:"not null;index"`
		RefID      int64      `gorm:"not null"`
		Payload    string     `gorm:"type:text"`
		CreatedAt  time.Time  `gorm:"not null"`
		LeaseOwner string     `gorm:"size:64;not null;default:''"`
		LeaseUntil time.Time  `gorm:"not null;index:idx_outbox_pending,priority:2"`
		Attempts   int        `gorm:"not null;default:0"`
		DoneAt     *time.Time `gorm:"index:idx_outbox_pending,priority:1"`
	}
)

func (deviceV2) TableName() string      { return "devices" }
func (checkV2) TableName() string       { return "checks" }
func (probeResultV2) TableName() string { return "probe_results" }
func (rollupV2) TableName() string      { return "rollups" }
func (outageV2) TableName() string      { return "outages" }
func (outageProbeV2) TableName() string { return "outage_probes" }
func (outboxV2) TableName() string      { return "outbox" }

func migrateProber(tx *gorm.DB) error {
	if err := createTables(tx, &deviceV2{}, &checkV2{}, &outageV2{}, &outboxV2{}); err != nil {
		return err
	}
	// Results, rollups and evidence are found only by their keys: without a
	// rowid SQLite stores each row once, in key order.
	return createTablesWith(tx, "WITHOUT ROWID", &probeResultV2{}, &rollupV2{}, &outageProbeV2{})
}

// Frozen structs of migration 3.
type (
	contactV3 struct {
		ID             int64  `gorm:"primaryKey"`
		OrgID          int64  `gorm:"not null;index"`
		Name           string `gorm:"size:200;not null"`
		Title          string `gorm:"size:100;not null;default:''"`
		OfficePhone    string `gorm:"size:20;not null;default:''"`
		Mobile         string `gorm:"size:20;not null;default:''"`
		Pager          string `gorm:"size:20;not null;default:''"`
		Fax            string `gorm:"size:20;not null;default:''"`
		Email          string `gorm:"size:254;not null;default:''"`
		Channels       string `gorm:"size:100;not null;default:''"`
		Priority       int    `gorm:"not null;default:0"`
		MayAuthorize   bool   `gorm:"not null;default:false"`
		Locale         string `gorm:"size:10;not null;default:'zh-CN'"`
		PassphraseHash string `gorm:"size:200;not null;default:''"`
		PassphraseAt   *time.Time
		CreatedAt      time.Time
		UpdatedAt      time.Time
		Org            *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:RESTRICT"`
	}
	contactFlagV3 struct {
		ID        int64  `gorm:"primaryKey"`
		ContactID int64  `gorm:"not null;index"`
		OrgID     int64  `gorm:"not null;index"`
		Channel   string `gorm:"size:20;not null"`
		Reason    string `gorm:"size:500;not null;default:''"`
		MarkedBy  *int64
		MarkedAt  time.Time `gorm:"not null"`
		ClearedAt *time.Time
	}
	contactConfirmationV3 struct {
		ID          int64     `gorm:"primaryKey"`
		OrgID       int64     `gorm:"not null;index:idx_confirm_org_at,priority:1"`
		UserID      int64     `gorm:"not null"`
		ConfirmedAt time.Time `gorm:"not null;index:idx_confirm_org_at,priority:2"`
	}
	notifyOptOutV3 struct {
		OrgID     int64  `gorm:"primaryKey;autoIncrement:false"`
		ContactID int64  `gorm:"primaryKey;autoIncrement:false"`
		Event     string `gorm:"primaryKey;size:40"`
	}
	deliveryV3 struct {
		ID            int64     `gorm:"primaryKey"`
		OrgID         int64     `gorm:"not null;index"`
		EventID       int64     `gorm:"not null;index"`
		Event         string    `gorm:"size:40;not null"`
		OutageID      int64     `gorm:"not null;index"`
		ContactID     int64     `gorm:"not null;index"`
		Channel       string    `gorm:"size:20;not null"`
		Transport     string    `gorm:"size:20;not null"`
		Address       string    `gorm:"size:254;not null"`
		Locale        string    `gorm:"size:10;not null;default:'zh-CN'"`
		Authorized    bool      `gorm:"not null;default:false"`
		Status        string    `gorm:"size:20;not null;index:idx_delivery_due,priority:1"`
		Attempts      int       `gorm:"not null;default:0"`
		NextAttemptAt time.Time `gorm:"not null;index:idx_delivery_due,priority:2"`
		LeaseOwner    string    `gorm:"size:64;not null;default:''"`
		LeaseUntil    time.Time `gorm:"not null"`
		LastError     string    `gorm:"size:500;not null;default:''"`
		CreatedAt     time.Time
		DoneAt        *time.Time
	}
	deliveryAttemptV3 struct {
		ID         int64     `gorm:"primaryKey"`
		DeliveryID int64     `gorm:"not null;index"`
		OrgID      int64     `gorm:"not null;index"`
		At         time.Time `gorm:"not null"`
		Result     string    `gorm:"size:20;not null"`
		Error      string    `gorm:"size:500;not null;default:''"`
		ByUserID   *int64
	}
	clockV3 struct {
		ID         int64     `gorm:"primaryKey"`
		OrgID      int64     `gorm:"not null;index"`
		Kind       string    `gorm:"size:40;not null;uniqueIndex:idx_clock_ref,priority:1"`
		RefID      int64     `gorm:"not null;uniqueIndex:idx_clock_ref,priority:2"`
		StartedAt  time.Time `gorm:"not null"`
		DeadlineAt time.Time `gorm:"not null;index:idx_clock_due,priority:2"`
		StoppedAt  *time.Time
		StopRef    *int64
		Outcome    string `gorm:"size:10;not null;index:idx_clock_due,priority:1"`
		CreatedAt  time.Time
	}
	deductionV3 struct {
		ID           int64   `gorm:"primaryKey"`
		OrgID        int64   `gorm:"not null;index:idx_deduction_org_day,priority:1;uniqueIndex:idx_deduction_charge,priority:1"`
		Kind         string  `gorm:"size:40;not null;uniqueIndex:idx_deduction_charge,priority:2"`
		ClockID      int64   `gorm:"not null;index"`
		Day          string  `gorm:"size:10;not null;index:idx_deduction_org_day,priority:2"`
		ChargeDay    *string `gorm:"size:10;uniqueIndex:idx_deduction_charge,priority:3"`
		Days         int     `gorm:"not null;default:0"`
		Waived       bool    `gorm:"not null;default:false"`
		WaiverReason string  `gorm:"size:60;not null;default:''"`
		CreatedAt    time.Time
	}
)

func (contactV3) TableName() string             { return "contacts" }
func (contactFlagV3) TableName() string         { return "contact_flags" }
func (contactConfirmationV3) TableName() string { return "contact_confirmations" }
func (notifyOptOutV3) TableName() string        { return "notify_optouts" }
func (deliveryV3) TableName() string            { return "deliveries" }
func (deliveryAttemptV3) TableName() string     { return "delivery_attempts" }
func (clockV3) TableName() string               { return "sla_clocks" }
func (deductionV3) TableName() string           { return "deductions" }

func migrateNotify(tx *gorm.DB) error {
	return createTables(tx, &contactV3{}, &contactFlagV3{}, &contactConfirmationV3{}, &notifyOptOutV3{},
		&deliveryV3{}, &deliveryAttemptV3{}, &clockV3{}, &deductionV3{})
}
