package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 30.
type (
	// switchV30 adds the kind of a polled device: a network device
	// (switch, router), a metered PDU or an environment sensor. All three
	// share the credentials, the leases and the poller's schedule.
	switchV30 struct {
		ID   int64
		Kind string `gorm:"size:16;not null;default:network"`
	}
	// contractV30 adds the contracted power of a contract, in watts (0:
	// the contract states none).
	contractV30 struct {
		ID         int64
		PowerWatts int64 `gorm:"not null;default:0"`
	}
	facilityMeterV30 struct {
		ID       int64
		SwitchID int64  `gorm:"not null;uniqueIndex:idx_facility_meters_oid,priority:1"`
		Ref      string `gorm:"size:16;not null;uniqueIndex:idx_facility_meters_ref"`
		// OID is the numeric object identifier read, without a leading dot.
		OID      string `gorm:"column:oid;size:255;not null;uniqueIndex:idx_facility_meters_oid,priority:2"`
		Quantity string `gorm:"size:16;not null"` // current, power, temperature, humidity
		// Divisor turns the agent's integer into the quantity's unit
		// (tenths of an ampere: 10).
		Divisor int    `gorm:"not null"`
		Feed    string `gorm:"size:1;not null"` // "A", "B", or "" (sensors)
		Label   string `gorm:"size:100;not null"`
		OrgID   *int64 `gorm:"index:idx_facility_meters_org,priority:1"`
		Cabinet string `gorm:"size:40;not null;index:idx_facility_meters_org,priority:2"`
		// ContractID is the contract whose power the meter's cabinet draws.
		ContractID *int64
		// Thresholds in milli-units (nil: none on that side).
		HighMilli *int64
		LowMilli  *int64
		// MappedSince is when the meter went to its organization: its
		// customer reads nothing older.
		MappedSince *time.Time
		LastAt      *time.Time
		LastMilli   *int64
		// AlertState is "", "high" or "low": the crossing in progress,
		// notified once when it began.
		AlertState string `gorm:"size:8;not null"`
		AlertSince *time.Time
		CreatedAt  time.Time
		UpdatedAt  time.Time
		Switch     *switchV26   `gorm:"foreignKey:SwitchID;constraint:OnDelete:CASCADE"`
		Org        *orgV1       `gorm:"foreignKey:OrgID;constraint:OnDelete:RESTRICT"`
		Contract   *contractV24 `gorm:"foreignKey:ContractID;constraint:OnDelete:SET NULL"`
	}
	facilityReadingV30 struct {
		MeterID int64     `gorm:"primaryKey;autoIncrement:false"`
		At      time.Time `gorm:"primaryKey"`
		Milli   int64     `gorm:"not null"`
	}
	facilityRollupV30 struct {
		MeterID  int64     `gorm:"primaryKey;autoIncrement:false"`
		Period   string    `gorm:"size:1;primaryKey"` // "h" or "d"
		Start    time.Time `gorm:"primaryKey"`
		N        int       `gorm:"not null"`
		MinMilli int64     `gorm:"not null"`
		MaxMilli int64     `gorm:"not null"`
		SumMilli int64     `gorm:"not null"`
	}
	facilityMarkV30 struct {
		Period     string    `gorm:"size:1;primaryKey"`
		BuiltUntil time.Time `gorm:"not null"`
	}
	facilityAlertV30 struct {
		ID      int64
		MeterID int64  `gorm:"not null;index:idx_facility_alerts_meter,priority:1"`
		OrgID   *int64 `gorm:"index:idx_facility_alerts_org,priority:1"`
		Cabinet string `gorm:"size:40;not null"`
		Kind    string `gorm:"size:8;not null"` // high or low
		// ValueMilli is the reading that crossed; PeakMilli the furthest
		// reading past the threshold while it lasted.
		ValueMilli     int64     `gorm:"not null"`
		PeakMilli      int64     `gorm:"not null"`
		ThresholdMilli int64     `gorm:"not null"`
		StartedAt      time.Time `gorm:"not null;index:idx_facility_alerts_meter,priority:2;index:idx_facility_alerts_org,priority:2"`
		EndedAt        *time.Time
		Meter          *facilityMeterV30 `gorm:"foreignKey:MeterID;constraint:OnDelete:CASCADE"`
	}
	powerProposalV30 struct {
		ID      int64
		Ref     string `gorm:"size:16;not null;uniqueIndex:idx_power_proposals_ref"`
		OrgID   int64  `gorm:"not null;index:idx_power_proposals_cabinet,priority:1"`
		Cabinet string `gorm:"size:40;not null;index:idx_power_proposals_cabinet,priority:2"`
		// State is proposed, confirmed or dismissed.
		State     string    `gorm:"size:16;not null;index:idx_power_proposals_state"`
		StartedAt time.Time `gorm:"not null"` // the first poll both feeds read zero
		// EndedAt is the first poll a feed read power again (nil while
		// both still read zero).
		EndedAt    *time.Time
		IncidentID *int64 // the power incident staff recorded from it
		DecidedBy  *int64
		DecidedAt  *time.Time
		Note       string `gorm:"size:500;not null"`
		CreatedAt  time.Time
		UpdatedAt  time.Time
		Org        *orgV1            `gorm:"foreignKey:OrgID;constraint:OnDelete:RESTRICT"`
		Incident   *powerIncidentV24 `gorm:"foreignKey:IncidentID;constraint:OnDelete:SET NULL"`
	}
)

func (switchV30) TableName() string          { return "switches" }
func (contractV30) TableName() string        { return "contracts" }
func (facilityMeterV30) TableName() string   { return "facility_meters" }
func (facilityReadingV30) TableName() string { return "facility_readings" }
func (facilityRollupV30) TableName() string  { return "facility_rollups" }
func (facilityMarkV30) TableName() string    { return "facility_marks" }
func (facilityAlertV30) TableName() string   { return "facility_alerts" }
func (powerProposalV30) TableName() string   { return "power_proposals" }

// migrateFacilities adds metered PDUs and environment sensors (a kind of
// polled device), their meters, readings, rollups and threshold alerts,
// power incidents proposed by the meters, and a contract's power.
func migrateFacilities(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, c := range []struct {
		model any
		field string
		what  string
	}{{&switchV30{}, "Kind", "add switches.kind"}, {&contractV30{}, "PowerWatts", "add contracts.power_watts"}} {
		if !m.HasColumn(c.model, c.field) {
			if err := m.AddColumn(c.model, c.field); err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
		}
	}
	if err := createTablesWith(tx, "WITHOUT ROWID", &facilityReadingV30{}, &facilityRollupV30{}); err != nil {
		return fmt.Errorf("add facility readings: %w", err)
	}
	if err := createTables(tx, &facilityMeterV30{}, &facilityMarkV30{}, &facilityAlertV30{}, &powerProposalV30{}); err != nil {
		return fmt.Errorf("add facility meters: %w", err)
	}
	return nil
}
