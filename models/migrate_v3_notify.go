package models

import (
	"time"

	"gorm.io/gorm"
)

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
