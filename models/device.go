package models

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Device is a customer machine in the data center that the prober watches.
type Device struct {
	ID        int64
	OrgID     int64
	Name      string
	Address   string // IPv4, IPv6 or host name
	Cabinet   string
	Position  string
	Notes     string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Tags are read only by the pages that show them (sorted).
	Tags []string `gorm:"-"`
}

func (Device) TableName() string { return "devices" }

// DeviceInput is what a form, the CLI or an import row supplies.
type DeviceInput struct {
	OrgID    int64
	Name     string
	Address  string
	Cabinet  string
	Position string
	Notes    string
	// Tags, as typed (ParseTags); nil leaves a device's tags as they are.
	Tags *string
	tags []string // parsed by validate
}

var hostLabelRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// ValidHost reports whether s is an IP address or an RFC 1123 host name.
func ValidHost(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if !hostLabelRE.MatchString(label) {
			return false
		}
	}
	// A name made only of digits and dots is a mistyped IPv4 address.
	return strings.Trim(s, "0123456789.") != ""
}

func (in *DeviceInput) validate() error {
	var p problems
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	p.add(CheckLine("name", in.Name, 200))
	p.add(CheckPrintable("name", in.Name)) // devices are printed on the form
	in.Address = strings.TrimSpace(in.Address)
	if in.Address == "" {
		p.add(Invalid("address", "error.required"))
	} else if !ValidHost(in.Address) {
		p.add(Invalid("address", "error.host_invalid"))
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"cabinet", &in.Cabinet, 40}, {"position", &in.Position, 40}, {"notes", &in.Notes, 2000}} {
		*f.v = strings.TrimSpace(*f.v)
		check := CheckLine
		if f.name == "notes" {
			check = CheckText
		}
		p.add(check(f.name, *f.v, f.max))
	}
	if in.Tags != nil {
		tags, err := ParseTags(*in.Tags)
		p.add(err)
		in.tags = tags
	}
	return p.err()
}

// CreateDevice stores a device with its default ICMP check, as one change.
func (s *Store) CreateDevice(ctx context.Context, actor Actor, in DeviceInput) (*Device, error) {
	if err := in.validate(); err != nil {
		return nil, wrap(err, "create device")
	}
	d := &Device{OrgID: in.OrgID, Name: in.Name, Address: in.Address, Cabinet: in.Cabinet, Position: in.Position, Notes: in.Notes}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		d.ID = 0 // a run the database rolled back may have set it
		var n int64
		if err := tx.Model(&Organization{}).Where("id = ?", in.OrgID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return Invalid("org", "error.org_unknown")
		}
		if err := tx.Create(d).Error; err != nil {
			return err
		}
		c := DefaultICMPCheck(d)
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		details := map[string]any{"name": d.Name, "address": d.Address}
		if len(in.tags) > 0 {
			if err := addDeviceTags(tx, d, in.tags); err != nil {
				return err
			}
			details["tags"] = strings.Join(in.tags, ",")
		}
		d.Tags = in.tags
		return s.audit(tx, actor, AuditDeviceCreated, "device", &d.ID, &d.OrgID, details)
	})
	if err != nil {
		return nil, fmt.Errorf("models: create device: %w", err)
	}
	return d, nil
}

// UpdateDevice changes a device of organization orgID.
func (s *Store) UpdateDevice(ctx context.Context, actor Actor, orgID, id int64, in DeviceInput) (*Device, error) {
	in.OrgID = orgID
	if err := in.validate(); err != nil {
		return nil, wrap(err, "update device")
	}
	var d Device
	err := s.tx(ctx, func(tx *gorm.DB) error {
		d = Device{}
		if err := tx.Where("org_id = ? AND id = ?", orgID, id).First(&d).Error; err != nil {
			return notFound(err)
		}
		oldAddr := d.Address
		d.Name, d.Address, d.Cabinet, d.Position, d.Notes = in.Name, in.Address, in.Cabinet, in.Position, in.Notes
		if err := tx.Save(&d).Error; err != nil {
			return err
		}
		if oldAddr != d.Address {
			// ICMP checks follow the device's address.
			if err := tx.Model(&Check{}).Where("device_id = ? AND kind = ? AND target = ?", d.ID, KindICMP, oldAddr).
				Update("target", d.Address).Error; err != nil {
				return err
			}
		}
		details := map[string]any{"name": d.Name, "address": d.Address}
		if in.Tags != nil {
			if err := setDeviceTags(tx, &d, in.tags); err != nil {
				return err
			}
			d.Tags = in.tags
			details["tags"] = strings.Join(in.tags, ",")
		}
		return s.audit(tx, actor, AuditDeviceUpdated, "device", &d.ID, &d.OrgID, details)
	})
	if err != nil {
		return nil, fmt.Errorf("models: update device %d: %w", id, err)
	}
	return &d, nil
}

// GetDevice returns device id if sc sees its organization; else ErrNotFound.
func (s *Store) GetDevice(ctx context.Context, sc Scope, id int64) (*Device, error) {
	var d Device
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&d).Error; err != nil {
		return nil, fmt.Errorf("models: get device %d: %w", id, notFound(err))
	}
	return &d, nil
}

// ListDevices lists the devices of one organization.
func (s *Store) ListDevices(ctx context.Context, sc Scope, orgID int64) ([]Device, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list devices")
	}
	var ds []Device
	err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("name, id").Find(&ds).Error
	return ds, wrap(err, "list devices")
}

// CheckKind is what a check probes.
type CheckKind string

const (
	KindICMP  CheckKind = "icmp"
	KindHTTP  CheckKind = "http"
	KindHTTPS CheckKind = "https"
	KindSMTP  CheckKind = "smtp"
	KindFTP   CheckKind = "ftp"
	KindTCP   CheckKind = "tcp"
	// KindPort is the operational state of a switch port mapped to the
	// device (traffic.go): not probed by the prober's pools nor leased
	// with the other checks, but fed by the SNMP poller of the port's
	// switch, under the switch's lease. Never offered on the check form.
	KindPort CheckKind = "port"
)

// CheckKinds lists every kind in display order.
var CheckKinds = []CheckKind{KindICMP, KindHTTP, KindHTTPS, KindSMTP, KindFTP, KindTCP}

// neverLeased is the lease time of a check no instance holds.
var neverLeased = time.Unix(0, 0).UTC()

// Check states.
const (
	StatusUnknown = "unknown"
	StatusUp      = "up"
	StatusDown    = "down"
)

// Check defaults and bounds, from the agreement: a probe every 5 minutes,
// two consecutive failures confirm an outage.
const (
	DefaultInterval      = 5 * time.Minute
	MinInterval          = 10 * time.Second
	DefaultTimeout       = 5 * time.Second
	DefaultFailThreshold = 2
)

// Check is one thing the prober probes on a device, with its live state.
type Check struct {
	ID            int64
	DeviceID      int64
	OrgID         int64
	Kind          CheckKind
	Target        string
	ExpectMin     int
	ExpectMax     int
	Keyword       string
	StartTLS      bool `gorm:"column:starttls"`
	IntervalSec   int
	TimeoutMs     int
	FailThreshold int
	Enabled       bool

	LeaseOwner string
	LeaseUntil time.Time
	// LeaseFrom is when the owner's lease began: a check handed over
	// before its old lease ended is probed by the new owner from then on.
	LeaseFrom     *time.Time
	Status        string
	ConsecFails   int
	FailSince     *time.Time
	LastAt        *time.Time
	LastOK        bool `gorm:"column:last_ok"`
	LastRTTus     int  `gorm:"column:last_rtt_us"`
	LastReason    string
	CertExpiresAt *time.Time
	OpenOutageID  *int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (Check) TableName() string { return "checks" }

// Interval is the time between two probes of the check.
func (c *Check) Interval() time.Duration { return time.Duration(c.IntervalSec) * time.Second }

// Timeout is how long one probe may take.
func (c *Check) Timeout() time.Duration { return time.Duration(c.TimeoutMs) * time.Millisecond }

// DefaultICMPCheck is the ping every device gets.
func DefaultICMPCheck(d *Device) *Check {
	return &Check{DeviceID: d.ID, OrgID: d.OrgID, Kind: KindICMP, Target: d.Address,
		IntervalSec: int(DefaultInterval / time.Second), TimeoutMs: int(DefaultTimeout / time.Millisecond),
		FailThreshold: DefaultFailThreshold, Enabled: true, Status: StatusUnknown, LeaseUntil: neverLeased}
}

// CheckInput is what a form, the CLI or an import row supplies for a check.
type CheckInput struct {
	Kind          CheckKind
	Target        string
	ExpectMin     int
	ExpectMax     int
	Keyword       string
	StartTLS      bool
	Interval      time.Duration
	Timeout       time.Duration
	FailThreshold int
	Enabled       bool
}

// ValidateCheck checks and normalizes a check's settings; deviceAddr fills
// an empty ICMP target.
func ValidateCheck(in *CheckInput, deviceAddr string) error {
	var p problems
	in.Target = strings.TrimSpace(in.Target)
	p.add(CheckLine("target", in.Target, 500))
	switch in.Kind {
	case KindICMP:
		if in.Target == "" {
			in.Target = deviceAddr
		}
		if !ValidHost(in.Target) {
			p.add(Invalid("target", "error.host_invalid"))
		}
	case KindHTTP, KindHTTPS:
		u, err := url.Parse(in.Target)
		if err != nil || u.Scheme != string(in.Kind) || u.Host == "" || !ValidHost(u.Hostname()) || u.User != nil {
			p.add(Invalid("target", "error.url_invalid", string(in.Kind)))
		} else if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				p.add(Invalid("target", "error.url_invalid", string(in.Kind)))
			}
		}
		if in.ExpectMin == 0 && in.ExpectMax == 0 {
			in.ExpectMin, in.ExpectMax = 200, 399
		}
		if in.ExpectMin < 100 || in.ExpectMax > 599 || in.ExpectMin > in.ExpectMax {
			p.add(Invalid("expect", "error.status_range"))
		}
		p.add(CheckLine("keyword", in.Keyword, 200))
	case KindSMTP, KindFTP, KindTCP:
		defPort := map[CheckKind]string{KindSMTP: "25", KindFTP: "21"}[in.Kind]
		host, port, err := net.SplitHostPort(in.Target)
		if err != nil && defPort != "" && ValidHost(strings.Trim(in.Target, "[]")) {
			host, port, err = strings.Trim(in.Target, "[]"), defPort, nil
		}
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65535 || !ValidHost(host) {
			p.add(Invalid("target", "error.hostport_invalid"))
		} else {
			in.Target = net.JoinHostPort(host, port)
		}
	default:
		p.add(Invalid("kind", "error.check_kind"))
	}
	if in.Interval == 0 {
		in.Interval = DefaultInterval
	}
	if in.Interval < MinInterval || in.Interval > 24*time.Hour {
		p.add(Invalid("interval", "error.interval_range", int(MinInterval/time.Second)))
	}
	if in.Timeout == 0 {
		in.Timeout = min(DefaultTimeout, in.Interval/2)
	}
	if in.Timeout < 100*time.Millisecond || in.Timeout >= in.Interval || in.Timeout > time.Minute {
		p.add(Invalid("timeout", "error.timeout_range"))
	}
	if in.FailThreshold == 0 {
		in.FailThreshold = DefaultFailThreshold
	}
	if in.FailThreshold < 1 || in.FailThreshold > 20 {
		p.add(Invalid("fail_threshold", "error.threshold_range"))
	}
	return p.err()
}

// AddCheck adds a check to a device of organization orgID.
func (s *Store) AddCheck(ctx context.Context, actor Actor, orgID, deviceID int64, in CheckInput) (*Check, error) {
	d, err := s.GetDevice(ctx, OrgScope(orgID), deviceID)
	if err != nil {
		return nil, wrap(err, "add check")
	}
	if err := ValidateCheck(&in, d.Address); err != nil {
		return nil, wrap(err, "add check")
	}
	c := newCheck(d, in)
	err = s.tx(ctx, func(tx *gorm.DB) error {
		c.ID = 0 // a run the database rolled back may have set it
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditCheckCreated, "check", &c.ID, &c.OrgID, map[string]any{"device_id": d.ID, "kind": c.Kind, "target": c.Target})
	})
	if err != nil {
		return nil, fmt.Errorf("models: add check: %w", err)
	}
	return c, nil
}

// SetCheckEnabled pauses or resumes a check of organization orgID. A
// switch port's check is refused (Invalid): it follows its switch and
// the port's mapping.
func (s *Store) SetCheckEnabled(ctx context.Context, actor Actor, orgID, checkID int64, enabled bool) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var c Check
		if err := tx.Where("org_id = ? AND id = ?", orgID, checkID).First(&c).Error; err != nil {
			return notFound(err)
		}
		if c.Kind == KindPort {
			// A port check follows its switch and the port's mapping
			// (MapSwitchPort, UpdateSwitch): paused by hand it would stay
			// paused, or come back while its port is unmapped.
			return Invalid("enabled", "error.check_port_managed")
		}
		if err := tx.Model(&c).Update("enabled", enabled).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditCheckUpdated, "check", &c.ID, &c.OrgID, map[string]any{"enabled": enabled})
	}), "set check enabled")
}

// ListChecks lists the checks of a device of organization orgID, each
// with its last result.
func (s *Store) ListChecks(ctx context.Context, sc Scope, orgID, deviceID int64) ([]Check, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list checks")
	}
	cs, err := s.findChecksWithLatest(s.db.WithContext(ctx).Where("checks.org_id = ? AND checks.device_id = ?", orgID, deviceID).
		Order(onChecks("id")), "checks.*")
	return cs, wrap(err, "list checks")
}

// ListOrgChecks lists every check of an organization.
func (s *Store) ListOrgChecks(ctx context.Context, sc Scope, orgID int64) ([]Check, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list org checks")
	}
	var cs []Check
	err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("device_id, id").Find(&cs).Error
	return cs, wrap(err, "list org checks")
}
