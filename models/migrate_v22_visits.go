package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 22.
type (
	siteV22 struct {
		ID          int64
		Name        string `gorm:"size:100;not null;uniqueIndex:idx_sites_name"`
		Address     string `gorm:"size:200;not null;default:''"`
		OpenMinute  int    `gorm:"not null;default:0"`
		CloseMinute int    `gorm:"not null;default:0"`
		MaxInside   int    `gorm:"not null;default:0"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	visitV22 struct {
		ID           int64
		OrgID        int64     `gorm:"not null;uniqueIndex:idx_visits_number,priority:1;index:idx_visits_org_from,priority:1"`
		NumberYear   int       `gorm:"not null;uniqueIndex:idx_visits_number,priority:2"`
		NumberSeq    int       `gorm:"not null;uniqueIndex:idx_visits_number,priority:3"`
		Ref          string    `gorm:"size:16;not null;uniqueIndex:idx_visits_ref"`
		SiteID       int64     `gorm:"not null"`
		State        string    `gorm:"size:16;not null;index:idx_visits_state_from,priority:1"`
		Emergency    bool      `gorm:"not null;default:false"`
		Activity     string    `gorm:"size:24;not null"`
		Reason       string    `gorm:"type:text;not null"`
		PlannedFrom  time.Time `gorm:"not null;index:idx_visits_state_from,priority:2;index:idx_visits_org_from,priority:2;index:idx_visits_from"`
		PlannedTo    time.Time `gorm:"not null;index:idx_visits_to"`
		RequestedBy  *int64
		OperationID  *int64 `gorm:"index:idx_visits_operation"`
		EscortID     *int64 `gorm:"index:idx_visits_escort"`
		DecidedBy    *int64
		DecidedAt    *time.Time
		DecisionNote string `gorm:"type:text;not null"`
		CancelledAt  *time.Time
		CreatedAt    time.Time
		UpdatedAt    time.Time
		Org          *orgV1   `gorm:"foreignKey:OrgID;constraint:OnDelete:CASCADE"`
		Site         *siteV22 `gorm:"foreignKey:SiteID"`
	}
	visitorV22 struct {
		ID              int64
		VisitID         int64      `gorm:"not null;index:idx_visitors_visit,priority:1"`
		OrgID           int64      `gorm:"not null"`
		Seq             int        `gorm:"not null;index:idx_visitors_visit,priority:2"`
		Name            string     `gorm:"size:100;not null"`
		Company         string     `gorm:"size:100;not null;default:''"`
		IDType          string     `gorm:"column:id_type;size:24;not null"`
		IDSealed        string     `gorm:"column:id_sealed;size:255;not null;default:''"`
		IDMasked        string     `gorm:"column:id_masked;size:40;not null;default:''"`
		PhoneSealed     string     `gorm:"size:255;not null;default:''"`
		PhoneMasked     string     `gorm:"size:40;not null;default:''"`
		Locale          string     `gorm:"size:8;not null"`
		CheckedInAt     *time.Time `gorm:"index:idx_visitors_in"`
		CheckedInBy     *int64
		EscortPresentID *int64
		BadgeNumber     string `gorm:"size:40;not null;default:''"`
		CheckedOutAt    *time.Time
		CheckedOutBy    *int64
		BadgeReturnedAt *time.Time
		PurgedAt        *time.Time
		Visit           *visitV22 `gorm:"foreignKey:VisitID;constraint:OnDelete:CASCADE"`
	}
	visitTargetV22 struct {
		ID       int64
		VisitID  int64     `gorm:"not null;index:idx_visit_targets_visit"`
		OrgID    int64     `gorm:"not null"`
		DeviceID *int64    `gorm:"index:idx_visit_targets_device"`
		Cabinet  string    `gorm:"size:40;not null;default:''"`
		Visit    *visitV22 `gorm:"foreignKey:VisitID;constraint:OnDelete:CASCADE"`
	}
	visitNeedV22 struct {
		VisitID int64     `gorm:"primaryKey;autoIncrement:false"`
		Need    string    `gorm:"primaryKey;size:16"`
		OrgID   int64     `gorm:"not null"`
		Note    string    `gorm:"type:text;not null"`
		Visit   *visitV22 `gorm:"foreignKey:VisitID;constraint:OnDelete:CASCADE"`
	}
	calendarTokenV22 struct {
		UserID     int64  `gorm:"primaryKey;autoIncrement:false"`
		TokenHash  string `gorm:"size:64;not null;uniqueIndex:idx_calendar_tokens_hash"`
		CreatedAt  time.Time
		LastUsedAt *time.Time
		User       *userV1 `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
	}
)

func (siteV22) TableName() string          { return "sites" }
func (visitV22) TableName() string         { return "visits" }
func (visitorV22) TableName() string       { return "visit_visitors" }
func (visitTargetV22) TableName() string   { return "visit_targets" }
func (visitNeedV22) TableName() string     { return "visit_needs" }
func (calendarTokenV22) TableName() string { return "calendar_tokens" }

// migrateVisits adds data-center visits (docs/agreement.md, clause 9):
// sites with their visiting hours and how many visitors they hold at
// once, visits with their visitors (identity numbers and phones sealed,
// masked copies for lists), what they may reach, the coordination they
// need, and calendar feed tokens. It adds one site, so that a fresh
// portal can take requests at once.
func migrateVisits(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, t := range []any{&siteV22{}, &visitV22{}, &visitorV22{}, &visitTargetV22{}, &visitNeedV22{}, &calendarTokenV22{}} {
		if !m.HasTable(t) {
			if err := m.CreateTable(t); err != nil {
				return fmt.Errorf("add %T: %w", t, err)
			}
		}
	}
	var n int64
	if err := tx.Model(&siteV22{}).Count(&n).Error; err != nil {
		return fmt.Errorf("count sites: %w", err)
	}
	if n == 0 {
		now := time.Now().UTC()
		s := siteV22{Name: "Main data center", OpenMinute: 8 * 60, CloseMinute: 22 * 60, MaxInside: 20, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&s).Error; err != nil {
			return fmt.Errorf("add the first site: %w", err)
		}
	}
	return nil
}
