package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 26.
type (
	switchV26 struct {
		ID          int64
		Name        string    `gorm:"size:100;not null;uniqueIndex:idx_switches_name"`
		Address     string    `gorm:"size:255;not null"` // host or host:port (161)
		Site        string    `gorm:"size:100;not null"`
		Version     string    `gorm:"size:2;not null"`    // "2c" or "3"
		Community   string    `gorm:"type:text;not null"` // sealed
		V3User      string    `gorm:"column:v3_user;size:64;not null"`
		V3AuthProto string    `gorm:"column:v3_auth_proto;size:8;not null"`
		V3AuthKey   string    `gorm:"column:v3_auth_key;type:text;not null"` // sealed
		V3PrivProto string    `gorm:"column:v3_priv_proto;size:8;not null"`
		V3PrivKey   string    `gorm:"column:v3_priv_key;type:text;not null"` // sealed
		IntervalSec int       `gorm:"not null"`
		TimeoutMs   int       `gorm:"not null"`
		MaxOIDs     int       `gorm:"column:max_oids;not null"`
		Enabled     bool      `gorm:"not null"`
		LeaseOwner  string    `gorm:"size:64;not null;index:idx_switches_lease,priority:1"`
		LeaseUntil  time.Time `gorm:"not null;index:idx_switches_lease,priority:2"`
		LeaseFrom   *time.Time
		SysName     string `gorm:"size:255;not null"`
		SysDescr    string `gorm:"type:text;not null"`
		LastPollAt  *time.Time
		LastError   string `gorm:"size:255;not null"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	switchPortV26 struct {
		ID         int64
		SwitchID   int64  `gorm:"not null;uniqueIndex:idx_switch_ports_if,priority:1"`
		IfIndex    int    `gorm:"not null;uniqueIndex:idx_switch_ports_if,priority:2"`
		Ref        string `gorm:"size:16;not null;uniqueIndex:idx_switch_ports_ref"`
		Name       string `gorm:"size:255;not null"`
		Descr      string `gorm:"size:255;not null"`
		Alias      string `gorm:"size:255;not null"`
		SpeedBps   int64  `gorm:"not null"`
		HC         bool   `gorm:"column:hc;not null"`
		OrgID      *int64 `gorm:"index:idx_switch_ports_org"`
		DeviceID   *int64 `gorm:"index:idx_switch_ports_device"`
		ContractID *int64
		CheckID    *int64 `gorm:"uniqueIndex:idx_switch_ports_check"`
		// MappedSince is when the port went to its organization (nil
		// when unmapped): its customer reads nothing older.
		MappedSince *time.Time
		CreatedAt   time.Time
		UpdatedAt   time.Time
		Switch      *switchV26   `gorm:"foreignKey:SwitchID;constraint:OnDelete:CASCADE"`
		Org         *orgV1       `gorm:"foreignKey:OrgID;constraint:OnDelete:RESTRICT"`
		Device      *deviceV2    `gorm:"foreignKey:DeviceID;constraint:OnDelete:SET NULL"`
		Contract    *contractV24 `gorm:"foreignKey:ContractID;constraint:OnDelete:SET NULL"`
	}
	trafficSampleV26 struct {
		PortID      int64     `gorm:"primaryKey;autoIncrement:false"`
		At          time.Time `gorm:"primaryKey"`
		Uptime      int64     `gorm:"not null"`
		InC         int64     `gorm:"column:in_c;not null"`
		OutC        int64     `gorm:"column:out_c;not null"`
		InErrC      int64     `gorm:"column:in_err_c;not null"`
		OutErrC     int64     `gorm:"column:out_err_c;not null"`
		InDiscC     int64     `gorm:"column:in_disc_c;not null"`
		OutDiscC    int64     `gorm:"column:out_disc_c;not null"`
		OperUp      bool      `gorm:"not null"`
		Valid       bool      `gorm:"not null"`
		Note        string    `gorm:"size:16;not null"`
		Ms          int64     `gorm:"not null"`
		InOctets    int64     `gorm:"not null"`
		OutOctets   int64     `gorm:"not null"`
		InErrors    int64     `gorm:"not null"`
		OutErrors   int64     `gorm:"not null"`
		InDiscards  int64     `gorm:"not null"`
		OutDiscards int64     `gorm:"not null"`
	}
	trafficRollupV26 struct {
		PortID      int64     `gorm:"primaryKey;autoIncrement:false"`
		Period      string    `gorm:"size:1;primaryKey"`
		Start       time.Time `gorm:"primaryKey"`
		Samples     int       `gorm:"not null"`
		DownSamples int       `gorm:"not null"`
		Ms          int64     `gorm:"not null"`
		InOctets    int64     `gorm:"not null"`
		OutOctets   int64     `gorm:"not null"`
		InMaxBps    int64     `gorm:"not null"`
		OutMaxBps   int64     `gorm:"not null"`
		InErrors    int64     `gorm:"not null"`
		OutErrors   int64     `gorm:"not null"`
		InDiscards  int64     `gorm:"not null"`
		OutDiscards int64     `gorm:"not null"`
	}
	trafficMonthV26 struct {
		PortID    int64  `gorm:"primaryKey;autoIncrement:false"`
		Month     string `gorm:"size:7;primaryKey"`
		Samples   int    `gorm:"not null"`
		InP95Bps  int64  `gorm:"column:in_p95_bps;not null"`
		OutP95Bps int64  `gorm:"column:out_p95_bps;not null"`
		InMaxBps  int64  `gorm:"not null"`
		OutMaxBps int64  `gorm:"not null"`
		InOctets  int64  `gorm:"not null"`
		OutOctets int64  `gorm:"not null"`
		BuiltAt   time.Time
	}
	trafficMarkV26 struct {
		Period     string    `gorm:"size:1;primaryKey"`
		BuiltUntil time.Time `gorm:"not null"`
	}
)

func (switchV26) TableName() string        { return "switches" }
func (switchPortV26) TableName() string    { return "switch_ports" }
func (trafficSampleV26) TableName() string { return "traffic_samples" }
func (trafficRollupV26) TableName() string { return "traffic_rollups" }
func (trafficMonthV26) TableName() string  { return "traffic_months" }
func (trafficMarkV26) TableName() string   { return "traffic_marks" }

// migrateTraffic adds the network devices polled over SNMP, their
// monitored interfaces, the samples read from them, and the rollups and
// monthly percentiles built from the samples.
func migrateTraffic(tx *gorm.DB) error {
	if err := createTablesWith(tx, "", &switchV26{}, &switchPortV26{}); err != nil {
		return fmt.Errorf("add switches: %w", err)
	}
	if err := createTablesWith(tx, "WITHOUT ROWID", &trafficSampleV26{}, &trafficRollupV26{},
		&trafficMonthV26{}, &trafficMarkV26{}); err != nil {
		return fmt.Errorf("add traffic samples: %w", err)
	}
	return nil
}
