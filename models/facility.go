package models

import (
	"time"
)

// Cabinet power and environment (docs/agreement.md §2, docs/architecture.md
// "Power and environment"): metered PDUs and environment sensors are
// polled devices of their own kinds (Switch.Kind), sharing the network
// devices' credentials, leases and poller. Each measured value is a
// FacilityMeter (one OID), mapped to an organization's cabinet and, for
// power, to the contract whose power it draws. A poll stores one
// FacilityReading per meter, keeps the meter's last value and its
// threshold state (a crossing is a FacilityAlert, notified once), and a
// cabinet whose power meters on both feeds read zero gets a
// PowerProposal, which staff confirm as a power incident or dismiss.

// Kinds of polled devices (Switch.Kind).
const (
	SwitchNetwork = "network"
	SwitchPDU     = "pdu"
	SwitchSensor  = "sensor"
)

// SwitchKinds lists the kinds in the order forms offer them.
var SwitchKinds = []string{SwitchNetwork, SwitchPDU, SwitchSensor}

// IsFacility reports whether the device is a PDU or an environment sensor,
// polled for its meters rather than its interfaces. A row written without
// a kind is a network device.
func (sw *Switch) IsFacility() bool { return sw.Kind == SwitchPDU || sw.Kind == SwitchSensor }

// Quantities a meter measures, and their units.
const (
	QuantityCurrent     = "current"     // ampere
	QuantityPower       = "power"       // watt
	QuantityTemperature = "temperature" // degree Celsius
	QuantityHumidity    = "humidity"    // percent relative humidity
)

// Quantities lists them in the order forms offer them.
var Quantities = []string{QuantityPower, QuantityCurrent, QuantityTemperature, QuantityHumidity}

// QuantityUnit is the unit a quantity is shown in.
func QuantityUnit(q string) string {
	switch q {
	case QuantityCurrent:
		return "A"
	case QuantityPower:
		return "W"
	case QuantityTemperature:
		return "°C"
	case QuantityHumidity:
		return "%"
	}
	return ""
}

// Feeds of a cabinet's power (a PDU meter's Feed); sensors have none.
const (
	FeedA = "A"
	FeedB = "B"
)

// Threshold alert kinds (FacilityMeter.AlertState, FacilityAlert.Kind).
const (
	AlertHigh = "high"
	AlertLow  = "low"
)

// Power proposal states.
const (
	ProposalOpen      = "proposed"
	ProposalConfirmed = "confirmed"
	ProposalDismissed = "dismissed"
)

// FacilityMeter is one measured value of a PDU or sensor.
type FacilityMeter struct {
	ID       int64
	SwitchID int64
	Ref      string
	OID      string `gorm:"column:oid"`
	Quantity string
	// Divisor turns the agent's integer into the quantity's unit.
	Divisor int
	Feed    string
	Label   string
	OrgID   *int64
	Cabinet string
	// ContractID is the contract whose power the meter's cabinet draws.
	ContractID *int64
	// HighMilli and LowMilli are the thresholds in thousandths of the
	// unit; nil is no threshold on that side.
	HighMilli   *int64
	LowMilli    *int64
	MappedSince *time.Time
	LastAt      *time.Time
	LastMilli   *int64
	AlertState  string
	AlertSince  *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (FacilityMeter) TableName() string { return "facility_meters" }

// Unit is the meter's unit ("W", "A", "°C", "%").
func (m *FacilityMeter) Unit() string { return QuantityUnit(m.Quantity) }

// FacilityReading is one poll's value of a meter, in thousandths of its
// unit, at the poll's slot.
type FacilityReading struct {
	MeterID int64
	At      time.Time
	Milli   int64
}

func (FacilityReading) TableName() string { return "facility_readings" }

// FacilityRollup sums a meter's readings over an hour ("h") or a day
// ("d") of the portal's time zone.
type FacilityRollup struct {
	MeterID  int64
	Period   string
	Start    time.Time
	N        int
	MinMilli int64
	MaxMilli int64
	SumMilli int64
}

func (FacilityRollup) TableName() string { return "facility_rollups" }

// facilityMark is how far the rollups of a period are built.
type facilityMark struct {
	Period     string
	BuiltUntil time.Time
}

func (facilityMark) TableName() string { return "facility_marks" }

// FacilityAlert is one crossing of a meter's threshold, from the first
// reading past it until one back inside.
type FacilityAlert struct {
	ID             int64
	MeterID        int64
	OrgID          *int64
	Cabinet        string
	Kind           string // AlertHigh or AlertLow
	ValueMilli     int64
	PeakMilli      int64
	ThresholdMilli int64
	StartedAt      time.Time
	EndedAt        *time.Time
}

func (FacilityAlert) TableName() string { return "facility_alerts" }

// PowerProposal is a cabinet whose power meters on both feeds read zero:
// a power incident proposed by the meters, which counts for nothing until
// staff confirm it as a PowerIncident (the agreement's power clause counts
// only incidents staff record).
type PowerProposal struct {
	ID         int64
	Ref        string
	OrgID      int64
	Cabinet    string
	State      string
	StartedAt  time.Time
	EndedAt    *time.Time
	IncidentID *int64
	DecidedBy  *int64
	DecidedAt  *time.Time
	Note       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (PowerProposal) TableName() string { return "power_proposals" }
