package models

import (
	"time"
)

// Switch is a network device of the data center (a switch or a router)
// whose interfaces are polled over SNMP for traffic and state. Its secrets
// (the v2c community, the v3 keys) are stored sealed under the portal
// secret and never leave the Store but to the poller (SwitchCredentials):
// pages only learn whether each is set.
type Switch struct {
	ID          int64
	Kind        string // SwitchNetwork, SwitchPDU or SwitchSensor; fixed once created
	Name        string
	Address     string // host or host:port; the port defaults to 161
	Site        string
	Version     string // SNMPv2c or SNMPv3
	Community   string `json:"-"` // sealed
	V3User      string `gorm:"column:v3_user"`
	V3AuthProto string `gorm:"column:v3_auth_proto"`        // "", MD5, SHA, SHA224, SHA256, SHA384, SHA512
	V3AuthKey   string `gorm:"column:v3_auth_key" json:"-"` // sealed
	V3PrivProto string `gorm:"column:v3_priv_proto"`        // "", DES, AES, AES192, AES256
	V3PrivKey   string `gorm:"column:v3_priv_key" json:"-"` // sealed
	IntervalSec int    // time between two polls; 300 by default, at least 60
	TimeoutMs   int
	MaxOIDs     int `gorm:"column:max_oids"` // variables per GET request
	Enabled     bool
	LeaseOwner  string
	LeaseUntil  time.Time
	LeaseFrom   *time.Time
	SysName     string
	SysDescr    string
	LastPollAt  *time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (Switch) TableName() string { return "switches" }

// SNMP versions a switch may speak.
const (
	SNMPv2c = "2c"
	SNMPv3  = "3"
)

// Switch defaults and bounds.
const (
	SwitchIntervalDefault = 300
	SwitchIntervalMin     = 60
	SwitchTimeoutDefault  = 3000
	SwitchMaxOIDsDefault  = 30
)

// Interval is the time between two polls of the switch.
func (sw *Switch) Interval() time.Duration {
	if sw.IntervalSec <= 0 {
		return SwitchIntervalDefault * time.Second
	}
	return time.Duration(sw.IntervalSec) * time.Second
}

// SNMPCredentials is how the poller reaches a switch: its address and
// secrets in the clear. Only the poller and the discovery of a switch's
// interfaces get one; it never reaches a page, a log or an export.
type SNMPCredentials struct {
	SwitchID    int64
	Address     string
	Version     string
	Community   string
	V3User      string
	V3AuthProto string
	V3AuthKey   string
	V3PrivProto string
	V3PrivKey   string
	Timeout     time.Duration
	MaxOIDs     int
}

// String hides the secrets, so that a credentials value printed by
// mistake (a log line, an error) shows none of them.
func (c SNMPCredentials) String() string {
	return "snmp v" + c.Version + " " + c.Address
}

// SwitchPort is one monitored interface of a switch (picked from the
// interfaces its IF-MIB lists), optionally mapped to a customer: the
// organization, the customer device it connects, and the contract it
// serves. A port mapped to a device has a check of kind KindPort on that
// device, fed by the poller with the port's operational state, so that a
// port going down opens an outage like failed pings do.
type SwitchPort struct {
	ID         int64
	SwitchID   int64
	IfIndex    int
	Ref        string // the port's key in URLs
	Name       string // ifName
	Descr      string // ifDescr
	Alias      string // ifAlias
	SpeedBps   int64  // ifHighSpeed × 10⁶, else ifSpeed; 0 when unknown
	HC         bool   `gorm:"column:hc"` // the agent serves 64-bit counters for it
	OrgID      *int64
	DeviceID   *int64
	ContractID *int64
	CheckID    *int64
	// MappedSince is when the port went to its organization, nil when
	// unmapped: a customer reads none of its traffic from before
	// (another tenant's); staff read it all.
	MappedSince *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (SwitchPort) TableName() string { return "switch_ports" }

// Label is the port as people name it: its ifName, else its ifDescr.
func (p *SwitchPort) Label() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Descr
}

// Interface is one row of a switch's IF-MIB as discovery reads it.
type Interface struct {
	IfIndex    int
	Name       string
	Descr      string
	Alias      string
	SpeedBps   int64
	HC         bool
	AdminUp    bool
	OperUp     bool
	TypeNumber int // ifType (6 ethernetCsmacd, 24 softwareLoopback, …)
}

// CounterReading is what one poll read of one port: the agent's uptime
// and the port's counters as the agent serves them. HC counters are
// 64-bit; otherwise InOctets and OutOctets are 32-bit Counter32 values.
// Error and discard counters are always Counter32.
type CounterReading struct {
	At          time.Time
	Uptime      uint32 // sysUpTime, hundredths of a second
	HC          bool
	InOctets    uint64
	OutOctets   uint64
	InErrors    uint32
	OutErrors   uint32
	InDiscards  uint32
	OutDiscards uint32
	OperUp      bool
	// AdminUp: ifAdminStatus is up. An administratively down port (not
	// cabled yet, shut by staff) gives no port check result: its being
	// down is no outage.
	AdminUp  bool
	SpeedBps int64
}

// TrafficSample is one poll of one port as stored: the raw counters (so
// that the next poll, by any instance, has its base) and, when Valid, the
// deltas since the previous poll over Ms milliseconds. A poll after an
// agent restart, a counter reset or a gap has no deltas (Valid false, Note
// says why): rates are never made up from a counter that went back.
// Counters are stored as the int64 with the same bits as the uint64.
type TrafficSample struct {
	PortID      int64     `gorm:"primaryKey;autoIncrement:false"`
	At          time.Time `gorm:"primaryKey"`
	Uptime      int64
	InC         int64 `gorm:"column:in_c"`
	OutC        int64 `gorm:"column:out_c"`
	InErrC      int64 `gorm:"column:in_err_c"`
	OutErrC     int64 `gorm:"column:out_err_c"`
	InDiscC     int64 `gorm:"column:in_disc_c"`
	OutDiscC    int64 `gorm:"column:out_disc_c"`
	OperUp      bool
	Valid       bool
	Note        string // first, restart, reset, gap, down
	Ms          int64
	InOctets    int64
	OutOctets   int64
	InErrors    int64
	OutErrors   int64
	InDiscards  int64
	OutDiscards int64
}

func (TrafficSample) TableName() string { return "traffic_samples" }

// InBps and OutBps are the sample's rates in bits per second (0 when the
// sample has no deltas).
func (s *TrafficSample) InBps() int64  { return bitsPerSecond(s.InOctets, s.Ms, s.Valid) }
func (s *TrafficSample) OutBps() int64 { return bitsPerSecond(s.OutOctets, s.Ms, s.Valid) }

// bitsPerSecond is octets × 8000 ÷ ms, rounded down, worked out without
// octets × 8000 overflowing (as trafficRateSQL).
func bitsPerSecond(octets, ms int64, valid bool) int64 {
	if !valid || ms <= 0 {
		return 0
	}
	return octets/ms*8000 + octets%ms*8000/ms
}

// Reading gives back the raw counters a stored sample holds, as the base
// of the next poll.
func (s *TrafficSample) Reading(hc bool) CounterReading {
	return CounterReading{At: s.At, Uptime: uint32(s.Uptime), HC: hc,
		InOctets: uint64(s.InC), OutOctets: uint64(s.OutC),
		InErrors: uint32(s.InErrC), OutErrors: uint32(s.OutErrC),
		InDiscards: uint32(s.InDiscC), OutDiscards: uint32(s.OutDiscC), OperUp: s.OperUp}
}

// TrafficRollup sums a port's valid samples over an hour ("h") or a UTC
// day ("d"), with the highest sample rate in each direction.
type TrafficRollup struct {
	PortID      int64     `gorm:"primaryKey;autoIncrement:false"`
	Period      string    `gorm:"primaryKey"`
	Start       time.Time `gorm:"primaryKey"`
	Samples     int
	DownSamples int
	Ms          int64
	InOctets    int64
	OutOctets   int64
	InMaxBps    int64
	OutMaxBps   int64
	InErrors    int64
	OutErrors   int64
	InDiscards  int64
	OutDiscards int64
}

func (TrafficRollup) TableName() string { return "traffic_rollups" }

// InAvgBps and OutAvgBps are the period's mean rates.
func (r *TrafficRollup) InAvgBps() int64  { return bitsPerSecond(r.InOctets, r.Ms, true) }
func (r *TrafficRollup) OutAvgBps() int64 { return bitsPerSecond(r.OutOctets, r.Ms, true) }

// TrafficMonth is a port's month in the provider's calendar: the 95th
// percentile of its 5-minute rates in each direction, built by the janitor
// once the month is over (and counted from the samples on read until
// then), so that it outlives the raw samples.
type TrafficMonth struct {
	PortID    int64  `gorm:"primaryKey;autoIncrement:false"`
	Month     string `gorm:"primaryKey"`
	Samples   int
	InP95Bps  int64 `gorm:"column:in_p95_bps"`
	OutP95Bps int64 `gorm:"column:out_p95_bps"`
	InMaxBps  int64
	OutMaxBps int64
	InOctets  int64
	OutOctets int64
	BuiltAt   time.Time
}

func (TrafficMonth) TableName() string { return "traffic_months" }

// BilledP95Bps is the rate burstable billing uses: the higher of the two
// directions' 95th percentiles.
func (m *TrafficMonth) BilledP95Bps() int64 { return max(m.InP95Bps, m.OutP95Bps) }

// trafficMark is how far the rollups of one period length are built.
type trafficMark struct {
	Period     string `gorm:"primaryKey"`
	BuiltUntil time.Time
}

func (trafficMark) TableName() string { return "traffic_marks" }
