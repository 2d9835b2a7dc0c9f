package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 20.
type (
	incidentV20 struct {
		ID    int64  `gorm:"primaryKey"`
		Title string `gorm:"size:200;not null;default:''"`
		State string `gorm:"size:16;not null"`
		// OpenKey is "open" while the incident is open and NULL after: its
		// unique index lets at most one incident be open, whichever
		// instance detects it first.
		OpenKey    *string   `gorm:"size:8;uniqueIndex:idx_incidents_open"`
		StartedAt  time.Time `gorm:"not null"`
		DetectedAt time.Time `gorm:"not null"`
		ResolvedAt *time.Time
		ResolvedBy *int64
		Cause      string `gorm:"size:40;not null;default:'unknown'"`
		CauseNote  string `gorm:"size:500;not null;default:''"`
		CauseSetBy *int64
		CreatedAt  time.Time `gorm:"not null"`
		UpdatedAt  time.Time `gorm:"not null"`
	}
	incidentOutageV20 struct {
		// An outage belongs to at most one incident.
		OutageID   int64 `gorm:"primaryKey;autoIncrement:false"`
		IncidentID int64 `gorm:"not null;index:idx_incident_outages_incident,priority:1;index:idx_incident_outages_org,priority:2"`
		OrgID      int64 `gorm:"not null;index:idx_incident_outages_incident,priority:2;index:idx_incident_outages_org,priority:1"`
		DeviceID   int64 `gorm:"not null"`
	}
	incidentUpdateV20 struct {
		ID         int64     `gorm:"primaryKey"`
		IncidentID int64     `gorm:"not null;index:idx_incident_updates_incident"`
		Body       string    `gorm:"type:text;not null"`
		Locale     string    `gorm:"size:10;not null;default:''"`
		ByUserID   *int64    `gorm:""`
		ByName     string    `gorm:"size:200;not null;default:''"`
		CreatedAt  time.Time `gorm:"not null"`
	}
	orgV20 struct {
		ID          int64
		ServiceType *string `gorm:"size:32"`
	}
	outageV20 struct {
		StartedAt time.Time `gorm:"index:idx_outage_started"`
	}
)

func (incidentV20) TableName() string       { return "incidents" }
func (incidentOutageV20) TableName() string { return "incident_outages" }
func (incidentUpdateV20) TableName() string { return "incident_updates" }
func (orgV20) TableName() string            { return "organizations" }
func (outageV20) TableName() string         { return "outages" }

// migrateIncidents adds provider-wide incidents (the outages they group,
// in a table of their own so that an outage's row is never rewritten to
// join one, and the updates sent to the customers), the contracted
// service of an organization, and outages by start time for detection.
func migrateIncidents(tx *gorm.DB) error {
	if err := createTables(tx, &incidentV20{}, &incidentOutageV20{}, &incidentUpdateV20{}); err != nil {
		return err
	}
	m := tx.Migrator()
	if !m.HasColumn(&orgV20{}, "ServiceType") {
		if err := m.AddColumn(&orgV20{}, "ServiceType"); err != nil {
			return fmt.Errorf("add organizations.service_type: %w", err)
		}
	}
	if !m.HasIndex(&outageV20{}, "idx_outage_started") {
		if err := m.CreateIndex(&outageV20{}, "idx_outage_started"); err != nil {
			return fmt.Errorf("add idx_outage_started: %w", err)
		}
	}
	return nil
}
