package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 27.
type (
	apiTokenV27 struct {
		ID     int64
		UserID int64  `gorm:"not null;index:idx_api_tokens_user"`
		Name   string `gorm:"size:100;not null"`
		// Prefix is the token's first characters, shown in lists so that
		// a user can tell their tokens apart; the token itself is kept
		// only as its SHA-256 (Hash).
		Prefix     string    `gorm:"size:16;not null"`
		Hash       string    `gorm:"size:64;not null;uniqueIndex:idx_api_tokens_hash"`
		Scopes     string    `gorm:"size:32;not null"` // "read" or "read,write"
		ExpiresAt  time.Time `gorm:"not null"`
		LastUsedAt *time.Time
		LastUsedIP string `gorm:"size:64;not null"`
		RevokedAt  *time.Time
		RevokedBy  *int64
		CreatedAt  time.Time `gorm:"not null"`
		User       *userV1   `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
	}
	webhookEndpointV27 struct {
		ID          int64
		OrgID       int64  `gorm:"not null;index:idx_webhook_endpoints_org"`
		Ref         string `gorm:"size:16;not null;uniqueIndex:idx_webhook_endpoints_ref"`
		URL         string `gorm:"column:url;size:1000;not null"`
		Description string `gorm:"size:200;not null"`
		Secret      string `gorm:"type:text;not null"` // sealed under PORTAL_SECRET
		// Events lists the public event names sent, comma-separated.
		Events  string `gorm:"size:1000;not null"`
		Enabled bool   `gorm:"not null"`
		// Failures counts failed attempts in a row; a success resets it.
		Failures       int `gorm:"not null"`
		DisabledAt     *time.Time
		DisabledReason string `gorm:"size:64;not null"`
		CreatedBy      *int64
		CreatedAt      time.Time `gorm:"not null"`
		UpdatedAt      time.Time `gorm:"not null"`
		Org            *orgV1    `gorm:"foreignKey:OrgID;constraint:OnDelete:RESTRICT"`
	}
	webhookDeliveryV27 struct {
		ID         int64
		EndpointID int64 `gorm:"not null;uniqueIndex:idx_webhook_deliveries_event,priority:1;index:idx_webhook_deliveries_endpoint,priority:1"`
		OrgID      int64 `gorm:"not null"`
		// EventID is the outbox event it carries (nil for a test event):
		// one delivery per endpoint and event.
		EventID       *int64    `gorm:"uniqueIndex:idx_webhook_deliveries_event,priority:2"`
		Event         string    `gorm:"size:40;not null"`
		Payload       string    `gorm:"type:text;not null"`
		Status        string    `gorm:"size:16;not null;index:idx_webhook_deliveries_due,priority:1"`
		Attempts      int       `gorm:"not null"`
		NextAttemptAt time.Time `gorm:"not null;index:idx_webhook_deliveries_due,priority:2"`
		LeaseOwner    string    `gorm:"size:64;not null"`
		LeaseUntil    time.Time `gorm:"not null"`
		LastStatus    int       `gorm:"not null"`
		LastError     string    `gorm:"size:255;not null"`
		CreatedAt     time.Time `gorm:"not null;index:idx_webhook_deliveries_endpoint,priority:2"`
		DoneAt        *time.Time
		Endpoint      *webhookEndpointV27 `gorm:"foreignKey:EndpointID;constraint:OnDelete:CASCADE"`
	}
	webhookAttemptV27 struct {
		ID         int64
		DeliveryID int64     `gorm:"not null;index:idx_webhook_attempts_delivery"`
		EndpointID int64     `gorm:"not null"`
		OrgID      int64     `gorm:"not null"`
		At         time.Time `gorm:"not null"`
		StatusCode int       `gorm:"not null"`
		Error      string    `gorm:"size:255;not null"`
		// Response is the start of the receiver's answer, for the log.
		Response   string              `gorm:"size:1024;not null"`
		DurationMs int                 `gorm:"not null"`
		Delivery   *webhookDeliveryV27 `gorm:"foreignKey:DeliveryID;constraint:OnDelete:CASCADE"`
	}
	userV27 struct {
		ID int64
		// OIDCSubject is the staff member's subject at the single sign-on
		// issuer, once they have signed in through it.
		OIDCSubject *string `gorm:"column:oidc_subject;size:255;uniqueIndex:idx_users_oidc_subject"`
	}
)

func (apiTokenV27) TableName() string        { return "api_tokens" }
func (webhookEndpointV27) TableName() string { return "webhook_endpoints" }
func (webhookDeliveryV27) TableName() string { return "webhook_deliveries" }
func (webhookAttemptV27) TableName() string  { return "webhook_attempts" }
func (userV27) TableName() string            { return "users" }

func migrateIntegrations(tx *gorm.DB) error {
	if err := createTables(tx, &apiTokenV27{}, &webhookEndpointV27{}, &webhookDeliveryV27{}, &webhookAttemptV27{}); err != nil {
		return fmt.Errorf("add tokens and webhooks: %w", err)
	}
	m := tx.Migrator()
	if !m.HasColumn(&userV27{}, "OIDCSubject") {
		if err := m.AddColumn(&userV27{}, "OIDCSubject"); err != nil {
			return fmt.Errorf("add users.oidc_subject: %w", err)
		}
	}
	if !m.HasIndex(&userV27{}, "idx_users_oidc_subject") {
		if err := m.CreateIndex(&userV27{}, "idx_users_oidc_subject"); err != nil {
			return fmt.Errorf("index users.oidc_subject: %w", err)
		}
	}
	return nil
}
