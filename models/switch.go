package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Network devices (switches and routers) and their monitored ports, as
// staff register them: the switch's address and SNMP secrets (sealed with
// s.snmpKey; pages only learn whether each is set), the interfaces picked
// from discovery, and each port's mapping to a customer's organization,
// device and contract. A port mapped to a device has a check of kind
// KindPort on it, kept in step with the mapping in the same transaction.
// Reads take a scope and see nothing but for staff (sc.All()); the
// route table keeps the writes to engineers and admins.

// Switch bounds beyond those of traffic.go.
const (
	SwitchIntervalMax = 3600
	SwitchTimeoutMin  = 500
	SwitchTimeoutMax  = 30000
	SwitchMaxOIDsMax  = 100
	// SNMPKeyMin is the shortest SNMPv3 pass phrase agents accept
	// (RFC 3414 key localization needs at least 8 characters).
	SNMPKeyMin = 8
	// snmpSecretMax bounds a community or a pass phrase as typed.
	snmpSecretMax = 128
	// portCheckFailThreshold is how many down polls confirm a port
	// outage, as two failed pings do.
	portCheckFailThreshold = DefaultFailThreshold
)

// SNMPAuthProtos and SNMPPrivProtos are the SNMPv3 protocols a switch may
// use, in the order the form offers them.
var (
	SNMPAuthProtos = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	SNMPPrivProtos = []string{"DES", "AES", "AES192", "AES256"}
)

// HasCommunity, HasAuthKey and HasPrivKey say whether a secret is stored,
// which is all a page may know of it.
func (sw *Switch) HasCommunity() bool { return sw.Community != "" }
func (sw *Switch) HasAuthKey() bool   { return sw.V3AuthKey != "" }
func (sw *Switch) HasPrivKey() bool   { return sw.V3PrivKey != "" }

// SwitchInput is what the form supplies for a network device. A secret
// left empty on an update keeps the stored one (unless the address
// changes: validate); the fields of the other
// SNMP version, and a key whose protocol is none, are cleared.
type SwitchInput struct {
	// Kind is SwitchNetwork (also when empty), SwitchPDU or SwitchSensor;
	// it is set when the device is created and an update leaves it.
	Kind                string
	Name, Address, Site string
	Version             string // SNMPv2c or SNMPv3
	Community           string
	V3User              string
	V3AuthProto         string
	V3AuthKey           string
	V3PrivProto         string
	V3PrivKey           string
	// IntervalSec, TimeoutMs and MaxOIDs: 0 takes the default.
	IntervalSec, TimeoutMs, MaxOIDs int
	Enabled                         bool
}

// SNMPHostPort splits a switch's address (host, [IPv6], or host:port)
// into its host and port, 161 when none is given. ok is false for
// anything else (a URL, a bad host, a port outside 1–65535).
func SNMPHostPort(addr string) (host string, port int, ok bool) {
	addr = strings.TrimSpace(addr)
	if addr == "" || strings.Contains(addr, "/") || strings.Contains(addr, "@") {
		return "", 0, false
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a host name, an IPv4 address, or an IPv6 address bare
		// or in brackets.
		h, p = addr, "161"
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
			if net.ParseIP(h) == nil {
				return "", 0, false
			}
		} else if strings.Contains(h, ":") && net.ParseIP(h) == nil {
			return "", 0, false
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || !ValidHost(h) || strings.HasPrefix(p, "+") {
		return "", 0, false
	}
	return h, n, true
}

// sameSNMPAddress tells whether two addresses of a switch name the same
// host and port.
func sameSNMPAddress(a, b string) bool {
	ha, pa, oka := SNMPHostPort(a)
	hb, pb, okb := SNMPHostPort(b)
	if !oka || !okb {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return strings.EqualFold(ha, hb) && pa == pb
}

// validate checks and normalizes in, against the switch as stored (nil
// when creating), whose secrets an empty field keeps, unless the address
// changes: then each secret in use must be typed again.
func (in *SwitchInput) validate(old *Switch) error {
	var p problems
	for _, f := range []*string{&in.Name, &in.Address, &in.Site, &in.Version, &in.V3User, &in.V3AuthProto, &in.V3PrivProto} {
		*f = strings.TrimSpace(*f)
	}
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	switch {
	case old != nil:
		in.Kind = old.Kind
	case in.Kind == "":
		in.Kind = SwitchNetwork
	case !slices.Contains(SwitchKinds, in.Kind):
		p.add(Invalid("kind", "network.error.kind"))
	}
	p.add(CheckLine("name", in.Name, 100))
	p.add(CheckLine("site", in.Site, 100))
	if in.Address == "" {
		p.add(Invalid("address", "error.required"))
	} else if err := CheckLine("address", in.Address, 255); err != nil {
		p.add(err)
	} else if _, _, ok := SNMPHostPort(in.Address); !ok {
		p.add(Invalid("address", "network.error.address"))
	}
	// Re-pointed at another host or port, the switch keeps no secret:
	// they would go to the new address unasked.
	moved := old != nil && !sameSNMPAddress(old.Address, in.Address)
	stored := func(sealed func(*Switch) string) bool { return old != nil && sealed(old) != "" }
	secret := func(field, v string, has bool, required bool, min int) {
		if v == "" {
			switch {
			case required && has && moved:
				p.add(Invalid(field, "network.error.secret_again"))
			case required && !has:
				p.add(Invalid(field, "network.error.secret_required"))
			}
			return
		}
		if err := CheckLine(field, v, snmpSecretMax); err != nil {
			p.add(err)
		} else if utf8.RuneCountInString(v) < min {
			p.add(Invalid(field, "network.error.key_short", min))
		}
	}
	switch in.Version {
	case SNMPv2c:
		secret("community", in.Community, stored(func(s *Switch) string { return s.Community }), true, 1)
		in.V3User, in.V3AuthProto, in.V3AuthKey, in.V3PrivProto, in.V3PrivKey = "", "", "", "", ""
	case SNMPv3:
		in.Community = ""
		if in.V3User == "" {
			p.add(Invalid("v3_user", "error.required"))
		}
		p.add(CheckLine("v3_user", in.V3User, 64))
		if in.V3AuthProto != "" && !slices.Contains(SNMPAuthProtos, in.V3AuthProto) {
			p.add(Invalid("v3_auth_proto", "network.error.proto"))
		}
		if in.V3PrivProto != "" && !slices.Contains(SNMPPrivProtos, in.V3PrivProto) {
			p.add(Invalid("v3_priv_proto", "network.error.proto"))
		}
		if in.V3PrivProto != "" && in.V3AuthProto == "" {
			p.add(Invalid("v3_priv_proto", "network.error.priv_needs_auth"))
		}
		if in.V3AuthProto == "" {
			in.V3AuthKey = ""
		} else {
			secret("v3_auth_key", in.V3AuthKey, stored(func(s *Switch) string { return s.V3AuthKey }), true, SNMPKeyMin)
		}
		if in.V3PrivProto == "" {
			in.V3PrivKey = ""
		} else {
			secret("v3_priv_key", in.V3PrivKey, stored(func(s *Switch) string { return s.V3PrivKey }), true, SNMPKeyMin)
		}
	default:
		p.add(Invalid("version", "network.error.version"))
	}
	for _, f := range []struct {
		field      string
		v          *int
		def, lo, h int
	}{
		{"interval_sec", &in.IntervalSec, SwitchIntervalDefault, SwitchIntervalMin, SwitchIntervalMax},
		{"timeout_ms", &in.TimeoutMs, SwitchTimeoutDefault, SwitchTimeoutMin, SwitchTimeoutMax},
		{"max_oids", &in.MaxOIDs, SwitchMaxOIDsDefault, 1, SwitchMaxOIDsMax},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < f.lo || *f.v > f.h {
			p.add(Invalid(f.field, "network.error.range", Number(f.lo), Number(f.h)))
		}
	}
	return p.err()
}

// CheckSwitch checks a network device's form without saving it (a form
// whose own fields did not read), so that every problem shows at once.
// old is the switch as stored, nil for a new one.
func CheckSwitch(in SwitchInput, old *Switch) error { return in.validate(old) }

// sealSecrets writes in's secrets into sw sealed: a typed secret replaces
// the stored one, an empty one keeps it where its version and protocol
// still use it, and clears it where they do not. It returns the names of
// the secrets that changed, for the audit record (never their values).
func (s *Store) sealSecrets(sw *Switch, in *SwitchInput) ([]string, error) {
	var changed []string
	for _, f := range []struct {
		name  string
		typed string
		keep  bool // the secret is still used
		dst   *string
	}{
		{"community", in.Community, in.Version == SNMPv2c, &sw.Community},
		{"v3_auth_key", in.V3AuthKey, in.Version == SNMPv3 && in.V3AuthProto != "", &sw.V3AuthKey},
		{"v3_priv_key", in.V3PrivKey, in.Version == SNMPv3 && in.V3PrivProto != "", &sw.V3PrivKey},
	} {
		switch {
		case f.typed != "":
			sealed, err := s.snmpKey.Seal(f.typed)
			if err != nil {
				return nil, err
			}
			*f.dst = sealed
			changed = append(changed, f.name)
		case !f.keep && *f.dst != "":
			*f.dst = ""
			changed = append(changed, f.name)
		}
	}
	return changed, nil
}

// switchDetail is what an audit record says of a switch: never a secret,
// only whether each is set.
func switchDetail(sw *Switch) map[string]any {
	d := map[string]any{"name": sw.Name, "address": sw.Address, "site": sw.Site, "version": sw.Version,
		"interval_sec": sw.IntervalSec, "timeout_ms": sw.TimeoutMs, "max_oids": sw.MaxOIDs, "enabled": sw.Enabled}
	if sw.Version == SNMPv3 {
		d["v3_user"], d["v3_auth_proto"], d["v3_priv_proto"] = sw.V3User, sw.V3AuthProto, sw.V3PrivProto
	}
	return d
}

// CreateSwitch registers a network device, its secrets sealed; audited as
// network.switch_added without them.
func (s *Store) CreateSwitch(ctx context.Context, actor Actor, in SwitchInput) (*Switch, error) {
	if err := in.validate(nil); err != nil {
		return nil, wrap(err, "create switch")
	}
	sw := &Switch{}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		*sw = Switch{Kind: in.Kind, Name: in.Name, Address: in.Address, Site: in.Site, Version: in.Version, V3User: in.V3User,
			V3AuthProto: in.V3AuthProto, V3PrivProto: in.V3PrivProto, IntervalSec: in.IntervalSec, TimeoutMs: in.TimeoutMs,
			MaxOIDs: in.MaxOIDs, Enabled: in.Enabled, LeaseUntil: neverLeased}
		if _, err := s.sealSecrets(sw, &in); err != nil {
			return err
		}
		if err := tx.Create(sw).Error; err != nil {
			return conflict(err)
		}
		return s.audit(tx, actor, AuditSwitchAdded, "switch", &sw.ID, nil, switchDetail(sw))
	})
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("name", "network.error.name_taken")
	}
	if err != nil {
		return nil, wrap(err, "create switch")
	}
	return sw, nil
}

// UpdateSwitch changes network device id: a secret left empty keeps the
// stored one, but for a new address (host or port), where every secret in
// use must be typed again. Its ports' checks follow its name (their target), interval,
// timeout and, when it is switched on or off, its state; switched off,
// their open outages end now (endPortOutages). Audited as
// network.switch_changed with before and after, the names of the secrets
// replaced and the outages ended.
func (s *Store) UpdateSwitch(ctx context.Context, actor Actor, id int64, in SwitchInput) (*Switch, error) {
	var sw Switch
	err := s.tx(ctx, func(tx *gorm.DB) error {
		sw = Switch{}
		if err := forUpdate(tx).First(&sw, id).Error; err != nil {
			return notFound(err)
		}
		in := in // validate normalizes its copy: a second run starts again
		if err := in.validate(&sw); err != nil {
			return err
		}
		before := sw
		sw.Name, sw.Address, sw.Site, sw.Version, sw.V3User = in.Name, in.Address, in.Site, in.Version, in.V3User
		sw.V3AuthProto, sw.V3PrivProto, sw.IntervalSec, sw.TimeoutMs = in.V3AuthProto, in.V3PrivProto, in.IntervalSec, in.TimeoutMs
		sw.MaxOIDs, sw.Enabled = in.MaxOIDs, in.Enabled
		changed, err := s.sealSecrets(&sw, &in)
		if err != nil {
			return err
		}
		// Only what the form owns: the poller's columns (leases, last
		// poll) stay as it wrote them.
		if err := tx.Model(&sw).Select("name", "address", "site", "version", "community", "v3_user", "v3_auth_proto",
			"v3_auth_key", "v3_priv_proto", "v3_priv_key", "interval_sec", "timeout_ms", "max_oids", "enabled", "updated_at").
			Updates(&sw).Error; err != nil {
			return conflict(err)
		}
		var ended []int64
		if before.Enabled && !sw.Enabled {
			// Its ports' checks pause: their open outages end now.
			var ports []SwitchPort
			if err := tx.Where("switch_id = ? AND check_id IS NOT NULL", sw.ID).Find(&ports).Error; err != nil {
				return err
			}
			if ended, err = s.endPortOutages(tx, ports); err != nil {
				return err
			}
		}
		if err := followSwitch(tx, &before, &sw); err != nil {
			return err
		}
		detail := map[string]any{"name": sw.Name, "before": switchDetail(&before), "after": switchDetail(&sw)}
		if len(ended) > 0 {
			detail["outages_ended"] = ended
		}
		if len(changed) > 0 {
			detail["secrets_changed"] = changed
		}
		return s.audit(tx, actor, AuditSwitchChanged, "switch", &sw.ID, nil, detail)
	})
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("name", "network.error.name_taken")
	}
	if err != nil {
		return nil, wrap(err, "update switch")
	}
	return &sw, nil
}

// portCheckTarget is the target text of a port's check: the switch's name
// and the port's label.
func portCheckTarget(sw *Switch, p *SwitchPort) string { return sw.Name + " " + p.Label() }

// followSwitch brings the checks of switch sw's ports in step with it
// after a change from before.
func followSwitch(tx *gorm.DB, before, sw *Switch) error {
	checks := tx.Model(&Check{}).Where("id IN (?)", tx.Session(&gorm.Session{NewDB: true}).Model(&SwitchPort{}).
		Select("check_id").Where("switch_id = ? AND check_id IS NOT NULL", sw.ID))
	set := map[string]any{"interval_sec": sw.IntervalSec, "timeout_ms": sw.TimeoutMs}
	if before.Enabled != sw.Enabled {
		set["enabled"] = sw.Enabled
	}
	if before.IntervalSec != sw.IntervalSec || before.TimeoutMs != sw.TimeoutMs || before.Enabled != sw.Enabled {
		if err := checks.Updates(set).Error; err != nil {
			return err
		}
	}
	if before.Name == sw.Name {
		return nil
	}
	var ports []SwitchPort
	if err := tx.Where("switch_id = ? AND check_id IS NOT NULL", sw.ID).Order("check_id").Find(&ports).Error; err != nil {
		return err
	}
	for i := range ports {
		if err := tx.Model(&Check{}).Where("id = ?", *ports[i].CheckID).Update("target", portCheckTarget(sw, &ports[i])).Error; err != nil {
			return err
		}
	}
	return nil
}

// DeleteSwitch removes network device id with its monitored ports and
// their traffic history; each port's check leaves its device as
// RemoveSwitchPort says; their open outages end now (endPortOutages).
// Audited as network.switch_removed, with the outages ended.
func (s *Store) DeleteSwitch(ctx context.Context, actor Actor, id int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var sw Switch
		if err := forUpdate(tx).First(&sw, id).Error; err != nil {
			return notFound(err)
		}
		var ports []SwitchPort
		if err := forUpdate(tx).Where("switch_id = ?", sw.ID).Order("check_id").Find(&ports).Error; err != nil {
			return err
		}
		ended, err := s.endPortOutages(tx, ports)
		if err != nil {
			return err
		}
		for i := range ports {
			if err := dropPortCheck(tx, &ports[i]); err != nil {
				return err
			}
		}
		if err := dropTraffic(tx, "port_id IN (SELECT id FROM switch_ports WHERE switch_id = ?)", sw.ID); err != nil {
			return err
		}
		if err := tx.Where("switch_id = ?", sw.ID).Delete(&SwitchPort{}).Error; err != nil {
			return err
		}
		// A PDU's or sensor's meters go with it (facility_meter.go).
		if err := dropFacilityData(tx, "meter_id IN (SELECT id FROM facility_meters WHERE switch_id = ?)", sw.ID); err != nil {
			return err
		}
		if err := tx.Where("switch_id = ?", sw.ID).Delete(&FacilityMeter{}).Error; err != nil {
			return err
		}
		if err := tx.Delete(&Switch{}, sw.ID).Error; err != nil {
			return err
		}
		detail := map[string]any{"name": sw.Name, "address": sw.Address, "ports": len(ports)}
		if len(ended) > 0 {
			detail["outages_ended"] = ended
		}
		return s.audit(tx, actor, AuditSwitchRemoved, "switch", &sw.ID, nil, detail)
	})
	return wrap(err, "delete switch")
}

// dropTraffic deletes the samples, rollups and months of the ports that
// cond (on port_id) selects.
func dropTraffic(tx *gorm.DB, cond string, args ...any) error {
	for _, m := range []any{&TrafficSample{}, &TrafficRollup{}, &TrafficMonth{}} {
		if err := tx.Where(cond, args...).Delete(m).Error; err != nil {
			return err
		}
	}
	return nil
}

// SwitchRow is a line of the list of network devices.
type SwitchRow struct {
	Switch
	Ports  int // monitored interfaces
	Mapped int // of which mapped to an organization
	// Meters counts a PDU's or sensor's meters.
	Meters int
}

// ListSwitches lists the network devices by name with their monitored
// ports: staff only (another scope sees none).
func (s *Store) ListSwitches(ctx context.Context, sc Scope) ([]SwitchRow, error) {
	if !sc.All() {
		return nil, nil
	}
	var out []SwitchRow
	err := s.db.WithContext(ctx).Model(&Switch{}).
		Select("switches.*, (SELECT COUNT(*) FROM switch_ports p WHERE p.switch_id = switches.id) AS ports, " +
			"(SELECT COUNT(*) FROM switch_ports p WHERE p.switch_id = switches.id AND p.org_id IS NOT NULL) AS mapped, " +
			"(SELECT COUNT(*) FROM facility_meters m WHERE m.switch_id = switches.id) AS meters").
		Order("name, id").Scan(&out).Error
	return out, wrap(err, "list switches")
}

// GetSwitch is network device id for staff; any other scope gets
// ErrNotFound. Its secrets stay sealed: a page asks HasCommunity and the
// like.
func (s *Store) GetSwitch(ctx context.Context, sc Scope, id int64) (*Switch, error) {
	if !sc.All() {
		return nil, wrap(ErrNotFound, "get switch")
	}
	var sw Switch
	if err := s.db.WithContext(ctx).First(&sw, id).Error; err != nil {
		return nil, wrap(notFound(err), "get switch")
	}
	return &sw, nil
}

// SwitchCredentials opens the secrets of switch id for the poller and the
// discovery of its interfaces; nothing else asks for them, and what it
// returns never goes to a page, a log or an export.
func (s *Store) SwitchCredentials(ctx context.Context, id int64) (SNMPCredentials, error) {
	var sw Switch
	if err := s.db.WithContext(ctx).First(&sw, id).Error; err != nil {
		return SNMPCredentials{}, wrap(notFound(err), "switch credentials")
	}
	c := SNMPCredentials{SwitchID: sw.ID, Address: sw.Address, Version: sw.Version, V3User: sw.V3User,
		V3AuthProto: sw.V3AuthProto, V3PrivProto: sw.V3PrivProto,
		Timeout: time.Duration(sw.TimeoutMs) * time.Millisecond, MaxOIDs: sw.MaxOIDs}
	for _, f := range []struct {
		sealed string
		dst    *string
	}{{sw.Community, &c.Community}, {sw.V3AuthKey, &c.V3AuthKey}, {sw.V3PrivKey, &c.V3PrivKey}} {
		if f.sealed == "" {
			continue
		}
		v, err := s.snmpKey.Open(f.sealed)
		if err != nil {
			// Sealed under another PORTAL_SECRET: say so, not what it was.
			return SNMPCredentials{}, fmt.Errorf("models: switch credentials %d: a secret does not open with this portal secret", id)
		}
		*f.dst = v
	}
	return c, nil
}

// SwitchPortRow is a monitored port with the names of its mapping.
type SwitchPortRow struct {
	SwitchPort
	OrgName      string
	DeviceName   string
	ContractRef  string
	ContractYear int
	ContractSeq  int
	CheckStatus  string // the port check's state; "" without a check
}

// ContractNumber is the mapped contract's number, "" when none.
func (r *SwitchPortRow) ContractNumber() string {
	if r.ContractRef == "" {
		return ""
	}
	return FormatNumber(NumberContract, r.ContractYear, r.ContractSeq)
}

// ListSwitchPorts lists switch switchID's monitored ports by ifIndex with
// their mapping: staff only.
func (s *Store) ListSwitchPorts(ctx context.Context, sc Scope, switchID int64) ([]SwitchPortRow, error) {
	if !sc.All() {
		return nil, wrap(ErrNotFound, "list switch ports")
	}
	var out []SwitchPortRow
	err := s.db.WithContext(ctx).Table("switch_ports p").
		Select("p.*, o.name AS org_name, d.name AS device_name, c.ref AS contract_ref, c.number_year AS contract_year, "+
			"c.number_seq AS contract_seq, k.status AS check_status").
		Joins("LEFT JOIN organizations o ON o.id = p.org_id").
		Joins("LEFT JOIN devices d ON d.id = p.device_id").
		Joins("LEFT JOIN contracts c ON c.id = p.contract_id").
		Joins("LEFT JOIN checks k ON k.id = p.check_id").
		Where("p.switch_id = ?", switchID).Order("p.if_index").Scan(&out).Error
	return out, wrap(err, "list switch ports")
}

// cleanIfText makes a name an agent sent fit a line of at most max
// characters: invalid UTF-8 and control characters go, spaces at the ends
// too.
func cleanIfText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		s = strings.TrimSpace(string([]rune(s)[:max]))
	}
	return s
}

// maxPortsAudited bounds the port labels one audit record lists.
const maxPortsAudited = 50

// AddSwitchPorts monitors the picked interfaces of switch switchID (as
// discovery read them). An interface monitored already keeps its
// reference and mapping and takes the names and speed read now. It
// returns how many ports are new; audited as network.ports_added.
func (s *Store) AddSwitchPorts(ctx context.Context, actor Actor, switchID int64, picked []Interface) (int, error) {
	seen := map[int]bool{}
	var ifs []Interface
	for _, f := range picked {
		if f.IfIndex < 1 || seen[f.IfIndex] {
			continue
		}
		seen[f.IfIndex] = true
		f.Name, f.Descr, f.Alias = cleanIfText(f.Name, 255), cleanIfText(f.Descr, 255), cleanIfText(f.Alias, 255)
		f.SpeedBps = max(f.SpeedBps, 0)
		ifs = append(ifs, f)
	}
	if len(ifs) == 0 {
		return 0, Invalid("ports", "network.error.none_picked")
	}
	slices.SortFunc(ifs, func(a, b Interface) int { return a.IfIndex - b.IfIndex })
	added := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		added = 0
		var sw Switch
		if err := forUpdate(tx).First(&sw, switchID).Error; err != nil {
			return notFound(err)
		}
		var have []SwitchPort
		if err := tx.Where("switch_id = ?", sw.ID).Find(&have).Error; err != nil {
			return err
		}
		byIf := map[int]*SwitchPort{}
		for i := range have {
			byIf[have[i].IfIndex] = &have[i]
		}
		var fresh []SwitchPort
		var labels []string
		for _, f := range ifs {
			p, ok := byIf[f.IfIndex]
			if !ok {
				fresh = append(fresh, SwitchPort{SwitchID: sw.ID, IfIndex: f.IfIndex, Ref: newRef(), Name: f.Name,
					Descr: f.Descr, Alias: f.Alias, SpeedBps: f.SpeedBps, HC: f.HC})
				if len(labels) < maxPortsAudited {
					labels = append(labels, fresh[len(fresh)-1].Label())
				}
				continue
			}
			was := p.Label()
			p.Name, p.Descr, p.Alias, p.SpeedBps, p.HC = f.Name, f.Descr, f.Alias, f.SpeedBps, f.HC
			if err := tx.Model(p).Select("name", "descr", "alias", "speed_bps", "hc").Updates(p).Error; err != nil {
				return err
			}
			if p.CheckID != nil && p.Label() != was {
				if err := tx.Model(&Check{}).Where("id = ?", *p.CheckID).Update("target", portCheckTarget(&sw, p)).Error; err != nil {
					return err
				}
			}
		}
		if err := createInChunks(tx, fresh); err != nil {
			return err
		}
		added = len(fresh)
		return s.audit(tx, actor, AuditPortsAdded, "switch", &sw.ID, nil,
			map[string]any{"switch": sw.Name, "count": added, "ports": labels, "refreshed": len(ifs) - added})
	})
	if err != nil {
		return 0, wrap(err, "add switch ports")
	}
	return added, nil
}

// PortMapping is whom a port serves; every part is optional, but a device
// or a contract needs the organization they belong to.
type PortMapping struct {
	OrgID, DeviceID, ContractID *int64
}

// MapSwitchPort sets port portID's organization, device and contract. The
// device and the contract must be the organization's. The port's check of
// kind KindPort follows the device in the same transaction: made on a
// newly mapped device (target "<switch> <port>", the switch's interval and
// timeout, two down polls to an outage), taken off a device the port no
// longer serves (see dropPortCheck; its open outage ends now,
// endPortOutages), kept when the device stays. Audited as
// network.port_mapped, with the outage ended.
func (s *Store) MapSwitchPort(ctx context.Context, actor Actor, portID int64, m PortMapping) (*SwitchPort, error) {
	for _, id := range []**int64{&m.OrgID, &m.DeviceID, &m.ContractID} {
		if *id != nil && **id <= 0 {
			*id = nil
		}
	}
	var p SwitchPort
	err := s.tx(ctx, func(tx *gorm.DB) error {
		p = SwitchPort{}
		if err := forUpdate(tx).First(&p, portID).Error; err != nil {
			return notFound(err)
		}
		var sw Switch
		if err := tx.First(&sw, p.SwitchID).Error; err != nil {
			return notFound(err)
		}
		var org Organization
		var dev Device
		var ct Contract
		var pr problems
		if m.OrgID == nil {
			if m.DeviceID != nil || m.ContractID != nil {
				pr.add(Invalid("org", "network.error.org_required"))
			}
		} else if err := tx.First(&org, *m.OrgID).Error; err != nil {
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
			pr.add(Invalid("org", "error.org_unknown"))
		} else {
			if m.DeviceID != nil {
				if err := tx.Where("id = ? AND org_id = ?", *m.DeviceID, org.ID).First(&dev).Error; err != nil {
					if !errors.Is(err, gorm.ErrRecordNotFound) {
						return err
					}
					pr.add(Invalid("device", "network.error.device_other_org"))
				}
			}
			if m.ContractID != nil {
				if err := tx.Where("id = ? AND org_id = ?", *m.ContractID, org.ID).First(&ct).Error; err != nil {
					if !errors.Is(err, gorm.ErrRecordNotFound) {
						return err
					}
					pr.add(Invalid("contract", "network.error.contract_other_org"))
				}
			}
		}
		if err := pr.err(); err != nil {
			return err
		}
		checkWas := "none"
		if p.CheckID != nil {
			checkWas = "kept"
		}
		var ended []int64
		if p.CheckID != nil && (m.DeviceID == nil || p.DeviceID == nil || *p.DeviceID != *m.DeviceID) {
			var err error
			if ended, err = s.endPortOutages(tx, []SwitchPort{p}); err != nil {
				return err
			}
			if err := dropPortCheck(tx, &p); err != nil {
				return err
			}
			checkWas = "removed"
		}
		if m.DeviceID != nil && p.CheckID == nil {
			c := &Check{DeviceID: dev.ID, OrgID: dev.OrgID, Kind: KindPort, Target: portCheckTarget(&sw, &p),
				IntervalSec: sw.IntervalSec, TimeoutMs: sw.TimeoutMs, FailThreshold: portCheckFailThreshold,
				Enabled: sw.Enabled, Status: StatusUnknown, LeaseUntil: neverLeased}
			if err := tx.Create(c).Error; err != nil {
				return err
			}
			p.CheckID = &c.ID
			if checkWas == "removed" {
				checkWas = "moved"
			} else {
				checkWas = "created"
			}
		}
		if !sameID(p.OrgID, m.OrgID) {
			// Another tenant: its customer reads nothing from before.
			p.MappedSince = nil
			if m.OrgID != nil {
				now := s.now().UTC()
				p.MappedSince = &now
			}
		}
		p.OrgID, p.DeviceID, p.ContractID = m.OrgID, m.DeviceID, m.ContractID
		if err := tx.Model(&p).Select("org_id", "device_id", "contract_id", "check_id", "mapped_since").Updates(&p).Error; err != nil {
			return err
		}
		detail := map[string]any{"switch": sw.Name, "port": p.Label(), "if_index": p.IfIndex, "org": org.Name,
			"device": dev.Name, "contract": "", "check": checkWas}
		if ct.ID != 0 {
			detail["contract"] = ct.Number()
		}
		if p.CheckID != nil {
			detail["check_id"] = *p.CheckID
		}
		if len(ended) > 0 {
			detail["outages_ended"] = ended
		}
		return s.audit(tx, actor, AuditPortMapped, "switch_port", &p.ID, p.OrgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "map switch port")
	}
	return &p, nil
}

// endPortOutages ends now the open outages of the checks of ports, whose
// monitoring stops (the port is unmapped or removed, its switch deleted or
// disabled): nothing else would end them, the checks being paused or
// gone. Each ends as a port up again ends it (closeOutage: its recovery
// is told in a notice), outage rows by ascending ID, then the
// organizations' notices, then the checks' rows (no outage, no failure
// counted, state unknown), in the order locks are taken. It returns the
// IDs of the outages ended, for the audit record.
func (s *Store) endPortOutages(tx *gorm.DB, ports []SwitchPort) ([]int64, error) {
	var checkIDs []int64
	for i := range ports {
		if ports[i].CheckID != nil {
			checkIDs = append(checkIDs, *ports[i].CheckID)
		}
	}
	var checks []Check
	if err := findIn(tx, checkIDs, &checks, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "device_id", "org_id", "consec_fails", "open_outage_id").
			Where("id IN ? AND open_outage_id IS NOT NULL", chunk)
	}); err != nil || len(checks) == 0 {
		return nil, err
	}
	slices.SortFunc(checks, func(a, b Check) int { return cmp.Compare(*a.OpenOutageID, *b.OpenOutageID) })
	now := s.now().UTC()
	nj := newNoticeJoiner()
	var ended, ids []int64
	for i := range checks {
		c := &checks[i]
		var o Outage
		if err := forUpdate(tx).Select("id", "ended_at").First(&o, *c.OpenOutageID).Error; err != nil {
			return nil, err
		}
		if o.EndedAt == nil {
			if err := s.closeOutage(tx, nj, c, now, OutageEndStopped, nil); err != nil {
				return nil, err
			}
			ended = append(ended, o.ID)
		}
		ids = append(ids, c.ID)
	}
	if err := s.joinNotices(tx, nj); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	if err := tx.Model(&Check{}).Where("id IN ?", ids).Updates(map[string]any{"open_outage_id": nil,
		"status": StatusUnknown, "consec_fails": 0, "fail_since": nil}).Error; err != nil {
		return nil, err
	}
	slices.Sort(ended)
	return ended, nil
}

// dropPortCheck takes port p's check off its device and clears p.CheckID
// (the caller saves p or deletes it): deleted when it never recorded a
// poll nor an outage, else kept disabled as the record of its history
// (its results, outages and the device's availability read it). The
// caller ends its open outage first (endPortOutages); one opened since by
// a poll in flight is refused, as pausing the check would leave it open.
func dropPortCheck(tx *gorm.DB, p *SwitchPort) error {
	if p.CheckID == nil {
		return nil
	}
	id := *p.CheckID
	p.CheckID = nil
	var c Check
	err := forUpdate(tx).Select("id", "open_outage_id").First(&c, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // gone with its device
	}
	if err != nil {
		return err
	}
	if c.OpenOutageID != nil {
		return Invalid("port", "network.error.outage_open")
	}
	used := false
	for _, table := range []string{"probe_results", "rollups", "outages"} {
		var n []int64
		if err := tx.Table(table).Where("check_id = ?", id).Limit(1).Pluck("check_id", &n).Error; err != nil {
			return err
		}
		if len(n) > 0 {
			used = true
			break
		}
	}
	if used {
		return tx.Model(&Check{}).Where("id = ?", id).Update("enabled", false).Error
	}
	return tx.Delete(&Check{}, id).Error
}

// RemoveSwitchPort stops monitoring port portID: its check leaves its
// device (dropPortCheck), its open outage ending now (endPortOutages), and
// its traffic history goes. Audited as network.port_removed, with the
// outage ended.
func (s *Store) RemoveSwitchPort(ctx context.Context, actor Actor, portID int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var p SwitchPort
		if err := forUpdate(tx).First(&p, portID).Error; err != nil {
			return notFound(err)
		}
		var sw Switch
		if err := tx.First(&sw, p.SwitchID).Error; err != nil {
			return notFound(err)
		}
		ended, err := s.endPortOutages(tx, []SwitchPort{p})
		if err != nil {
			return err
		}
		if err := dropPortCheck(tx, &p); err != nil {
			return err
		}
		if err := dropTraffic(tx, "port_id = ?", p.ID); err != nil {
			return err
		}
		if err := tx.Delete(&SwitchPort{}, p.ID).Error; err != nil {
			return err
		}
		detail := map[string]any{"switch": sw.Name, "port": p.Label(), "if_index": p.IfIndex}
		if len(ended) > 0 {
			detail["outages_ended"] = ended
		}
		return s.audit(tx, actor, AuditPortRemoved, "switch_port", &p.ID, p.OrgID, detail)
	})
	return wrap(err, "remove switch port")
}
