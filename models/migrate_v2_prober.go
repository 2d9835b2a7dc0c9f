package models

import (
	"time"

	"gorm.io/gorm"
)

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
