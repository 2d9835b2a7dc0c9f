package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Frozen structs of migration 24.
type (
	contractV24 struct {
		ID              int64
		OrgID           int64  `gorm:"not null;uniqueIndex:idx_contracts_number,priority:1;index:idx_contracts_org_dates,priority:1"`
		NumberYear      int    `gorm:"not null;uniqueIndex:idx_contracts_number,priority:2"`
		NumberSeq       int    `gorm:"not null;uniqueIndex:idx_contracts_number,priority:3"`
		Ref             string `gorm:"size:16;not null;uniqueIndex:idx_contracts_ref"`
		ServiceType     string `gorm:"size:32;not null"`
		MonthlyFee      int64  `gorm:"not null"`
		InstallationFee int64  `gorm:"not null"`
		Currency        string `gorm:"size:3;not null"`
		SignedOn        string `gorm:"size:10;not null"`
		StartsOn        string `gorm:"size:10;not null;index:idx_contracts_org_dates,priority:2"`
		EndsOn          string `gorm:"size:10;not null;index:idx_contracts_ends"`
		Renewal         string `gorm:"size:16;not null"`
		Notes           string `gorm:"type:text;not null"`
		CreatedBy       *int64
		Expiry60SentAt  *time.Time `gorm:"column:expiry60_sent_at"`
		Expiry30SentAt  *time.Time `gorm:"column:expiry30_sent_at"`
		CreatedAt       time.Time
		UpdatedAt       time.Time
		Org             *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:CASCADE"`
	}
	contractTargetV24 struct {
		ID         int64
		ContractID int64        `gorm:"not null;index:idx_contract_targets_contract"`
		OrgID      int64        `gorm:"not null"`
		DeviceID   *int64       `gorm:"index:idx_contract_targets_device"`
		Cabinet    string       `gorm:"size:40;not null"`
		Contract   *contractV24 `gorm:"foreignKey:ContractID;constraint:OnDelete:CASCADE"`
	}
	installationOrderV24 struct {
		ID          int64
		OrgID       int64     `gorm:"not null;index:idx_installation_orders_org"`
		ContractID  int64     `gorm:"not null;uniqueIndex:idx_installation_orders_contract"`
		SignedAt    time.Time `gorm:"not null"`
		DueAt       time.Time `gorm:"not null"`
		CompletedAt *time.Time
		CompletedBy *int64
		Note        string `gorm:"type:text;not null"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
		Contract    *contractV24 `gorm:"foreignKey:ContractID;constraint:OnDelete:CASCADE"`
	}
	workDayV24 struct {
		Day       string `gorm:"size:10;primaryKey"`
		Kind      string `gorm:"size:8;not null"`
		Name      string `gorm:"size:100;not null"`
		UpdatedAt time.Time
	}
	powerIncidentV24 struct {
		ID           int64
		NumberYear   int       `gorm:"not null;uniqueIndex:idx_power_incidents_number,priority:1"`
		NumberSeq    int       `gorm:"not null;uniqueIndex:idx_power_incidents_number,priority:2"`
		Ref          string    `gorm:"size:16;not null;uniqueIndex:idx_power_incidents_ref"`
		StartedAt    time.Time `gorm:"not null;index:idx_power_incidents_started"`
		EndedAt      *time.Time
		BothDown     bool   `gorm:"not null"`
		Cause        string `gorm:"size:500;not null"`
		ForceMajeure bool   `gorm:"not null"`
		Note         string `gorm:"type:text;not null"`
		CreatedBy    *int64
		CreatedAt    time.Time
		UpdatedAt    time.Time
	}
	powerTargetV24 struct {
		ID         int64
		IncidentID int64             `gorm:"not null;index:idx_power_targets_incident"`
		OrgID      int64             `gorm:"not null;index:idx_power_targets_org"`
		Cabinet    string            `gorm:"size:40;not null"`
		Incident   *powerIncidentV24 `gorm:"foreignKey:IncidentID;constraint:OnDelete:CASCADE"`
	}
	maintenanceWindowV24 struct {
		ID           int64
		NumberYear   int       `gorm:"not null;uniqueIndex:idx_maintenance_number,priority:1"`
		NumberSeq    int       `gorm:"not null;uniqueIndex:idx_maintenance_number,priority:2"`
		Ref          string    `gorm:"size:16;not null;uniqueIndex:idx_maintenance_ref"`
		Title        string    `gorm:"size:200;not null"`
		Body         string    `gorm:"type:text;not null"`
		StartsAt     time.Time `gorm:"not null;index:idx_maintenance_starts"`
		EndsAt       time.Time `gorm:"not null"`
		CreatedBy    *int64
		CancelledAt  *time.Time
		CancelReason string `gorm:"size:500;not null"`
		CreatedAt    time.Time
		UpdatedAt    time.Time
	}
	maintenanceTargetV24 struct {
		ID       int64
		WindowID int64 `gorm:"not null;index:idx_maintenance_targets_window"`
		OrgID    int64 `gorm:"not null;index:idx_maintenance_targets_org"`
		DeviceID *int64
		Cabinet  string                `gorm:"size:40;not null"`
		Window   *maintenanceWindowV24 `gorm:"foreignKey:WindowID;constraint:OnDelete:CASCADE"`
	}
	maintenanceAnswerV24 struct {
		WindowID   int64  `gorm:"primaryKey;autoIncrement:false"`
		OrgID      int64  `gorm:"primaryKey;autoIncrement:false"`
		Answer     string `gorm:"size:16;not null"`
		UserID     *int64
		Note       string `gorm:"size:500;not null"`
		AnsweredAt time.Time
		Window     *maintenanceWindowV24 `gorm:"foreignKey:WindowID;constraint:OnDelete:CASCADE"`
	}
	statementV24 struct {
		ID       int64
		OrgID    int64     `gorm:"not null;uniqueIndex:idx_statements_month,priority:1"`
		Month    string    `gorm:"size:7;not null;uniqueIndex:idx_statements_month,priority:2"`
		Ref      string    `gorm:"size:16;not null;uniqueIndex:idx_statements_ref"`
		ClosedAt time.Time `gorm:"not null"`
		ClosedBy *int64
		Body     string `gorm:"type:longtext;not null"`
		Org      *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:CASCADE"`
	}
	// deductionV24 adds what a frozen line would be now: a closed month's
	// lines never change, and the difference becomes an adjusting line.
	deductionV24 struct {
		AfterCloseDays   *int
		AfterCloseWaived *bool
		AfterCloseReason *string `gorm:"size:60"`
	}
)

func (contractV24) TableName() string          { return "contracts" }
func (contractTargetV24) TableName() string    { return "contract_targets" }
func (installationOrderV24) TableName() string { return "installation_orders" }
func (workDayV24) TableName() string           { return "work_days" }
func (powerIncidentV24) TableName() string     { return "power_incidents" }
func (powerTargetV24) TableName() string       { return "power_targets" }
func (maintenanceWindowV24) TableName() string { return "maintenance_windows" }
func (maintenanceTargetV24) TableName() string { return "maintenance_targets" }
func (maintenanceAnswerV24) TableName() string { return "maintenance_answers" }
func (statementV24) TableName() string         { return "statements" }
func (deductionV24) TableName() string         { return "deductions" }

// migrateLedger adds the SLA ledger (docs/agreement.md §1–§3, §11):
// contracts with their fees and coverage, installation orders, the
// working-day calendar (seeded with the shipped State Council calendar),
// power incidents, maintenance windows with the customers' answers, and
// closed monthly statements.
func migrateLedger(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, t := range []any{&contractV24{}, &contractTargetV24{}, &installationOrderV24{}, &workDayV24{},
		&powerIncidentV24{}, &powerTargetV24{}, &maintenanceWindowV24{}, &maintenanceTargetV24{},
		&maintenanceAnswerV24{}, &statementV24{}} {
		if !m.HasTable(t) {
			if err := m.CreateTable(t); err != nil {
				return fmt.Errorf("add %T: %w", t, err)
			}
		}
	}
	for _, col := range []string{"AfterCloseDays", "AfterCloseWaived", "AfterCloseReason"} {
		if !m.HasColumn(&deductionV24{}, col) {
			if err := m.AddColumn(&deductionV24{}, col); err != nil {
				return fmt.Errorf("add deductions.%s: %w", col, err)
			}
		}
	}
	days, err := ShippedWorkDays()
	if err != nil {
		return err
	}
	rows := make([]workDayV24, len(days))
	for i, d := range days {
		rows[i] = workDayV24{Day: d.Day, Kind: d.Kind, Name: d.Name, UpdatedAt: time.Now().UTC()}
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("seed work days: %w", err)
	}
	return nil
}
