package models

import (
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 4.
type (
	opRequestV4 struct {
		ID          int64  `gorm:"primaryKey"`
		OrgID       int64  `gorm:"not null;index:idx_oprequest_org_state,priority:1"`
		Title       string `gorm:"size:200;not null"`
		Work        string `gorm:"type:text"`
		Urgency     string `gorm:"size:20;not null"`
		WindowFrom  *time.Time
		WindowTo    *time.Time
		Channel     string `gorm:"size:20;not null"`
		State       string `gorm:"size:30;not null;index:idx_oprequest_org_state,priority:2;index"`
		RequestedBy *int64
		RaisedBy    int64 `gorm:"not null"`
		EngineerID  *int64
		StartedAt   *time.Time
		EndedAt     *time.Time
		Notes       string `gorm:"type:text"`
		WorkDone    string `gorm:"type:text"`
		Result      string `gorm:"size:20;not null;default:''"`
		ResultNote  string `gorm:"type:text"`
		FollowUp    string `gorm:"type:text"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	opDeviceV4 struct {
		RequestID int64 `gorm:"primaryKey;autoIncrement:false"`
		DeviceID  int64 `gorm:"primaryKey;autoIncrement:false;index"`
		OrgID     int64 `gorm:"not null"`
	}
	documentV4 struct {
		ID          int64  `gorm:"primaryKey"`
		OrgID       int64  `gorm:"not null;index"`
		RequestID   int64  `gorm:"not null;index"`
		StorageKey  string `gorm:"size:64;not null;uniqueIndex"`
		FileName    string `gorm:"size:255;not null"`
		ContentType string `gorm:"size:60;not null"`
		Size        int64  `gorm:"not null"`
		SHA256      string `gorm:"column:sha256;size:64;not null"`
		UploadedBy  *int64
		CreatedAt   time.Time
	}
	authorizationV4 struct {
		ID           int64  `gorm:"primaryKey"`
		OrgID        int64  `gorm:"not null;index"`
		RequestID    int64  `gorm:"not null;index"`
		Method       string `gorm:"size:10;not null"`
		ContactID    int64  `gorm:"not null;index"`
		ContactName  string `gorm:"size:200;not null"`
		DocumentID   *int64
		Status       string `gorm:"size:20;not null"`
		Note         string `gorm:"type:text"`
		RecordedBy   *int64
		RecordedAt   time.Time
		DecidedBy    *int64
		DecidedAt    *time.Time
		RejectReason string `gorm:"size:500;not null;default:''"`
		FollowedByID *int64
	}
	opMessageV4 struct {
		ID         int64  `gorm:"primaryKey"`
		OrgID      int64  `gorm:"not null;index"`
		RequestID  int64  `gorm:"not null;index"`
		AuthorID   *int64 `gorm:"index"`
		AuthorName string `gorm:"size:200;not null"`
		Staff      bool   `gorm:"not null"`
		Kind       string `gorm:"size:20;not null"`
		Body       string `gorm:"type:text"`
		CreatedAt  time.Time
	}
	phoneAttemptV4 struct {
		ID        int64     `gorm:"primaryKey"`
		OrgID     int64     `gorm:"not null"`
		ContactID int64     `gorm:"not null;index:idx_phone_attempt_contact_at,priority:1"`
		RequestID int64     `gorm:"not null"`
		OK        bool      `gorm:"column:ok;not null"`
		At        time.Time `gorm:"not null;index:idx_phone_attempt_contact_at,priority:2"`
		ByUserID  *int64
	}
	contactV4 struct {
		PhoneLockedUntil *time.Time
	}
)

func (opRequestV4) TableName() string     { return "operation_requests" }
func (opDeviceV4) TableName() string      { return "operation_devices" }
func (documentV4) TableName() string      { return "documents" }
func (authorizationV4) TableName() string { return "authorizations" }
func (opMessageV4) TableName() string     { return "operation_messages" }
func (phoneAttemptV4) TableName() string  { return "phone_auth_attempts" }
func (contactV4) TableName() string       { return "contacts" }

func migrateOperations(tx *gorm.DB) error {
	if err := createTables(tx, &opRequestV4{}, &opDeviceV4{}, &documentV4{}, &authorizationV4{}, &opMessageV4{},
		&phoneAttemptV4{}); err != nil {
		return err
	}
	if !tx.Migrator().HasColumn(&contactV4{}, "PhoneLockedUntil") {
		return tx.Migrator().AddColumn(&contactV4{}, "PhoneLockedUntil")
	}
	return nil
}
