package models

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// ReasonPortDown is the failure of a port check: the switch answered and
// said the port is operationally down.
const ReasonPortDown = "port_down"

// PollTarget is a switch an instance holds the lease of, as the poller
// needs it: the row (with LeaseFrom and LeaseUntil, the owner polls the
// slots in [LeaseFrom, LeaseUntil)) and its credentials in the clear.
type PollTarget struct {
	Switch Switch
	Creds  SNMPCredentials
	// CredsErr says why the secrets could not be opened (the portal
	// secret changed since they were sealed): the poller records it as
	// the switch's error instead of polling. "" when they opened.
	CredsErr string
}

// SwitchRound is what one round of ShareSwitches left an instance with.
type SwitchRound struct {
	// Switches are the switches owner holds a lease on now, disabled ones
	// included (the poller drops those).
	Switches  []PollTarget
	Instances int // live instances
	Target    int // this instance's fair share
	Offered   int // switches offered to instances below their share
	Claimed   int // switches claimed in this round
	// OfferedIDs are the switches whose leases this round cut to end at
	// OfferedUntil. Another instance may take one before Switches is
	// read, so it may be missing there: the owner stops polling it at
	// OfferedUntil all the same, as the new owner starts then.
	OfferedIDs   []int64
	OfferedUntil time.Time
}

// ShareSwitches is the switches' part of a lease round of owner, run after
// ShareChecks (which says owner is alive in prober_instances): it renews
// owner's leases on switches and moves it towards its fair share of the
// enabled switches among the live instances, as ShareChecks does for
// checks, only simpler (a data center has tens or hundreds of switches,
// not a hundred thousand checks: no limit per instance, no kinds).
//
// A lease that ends within the hand-over window (half a lease from now)
// may be claimed by an instance below its share, with LeaseFrom set to the
// old lease's end: the old owner polls the slots before it and the new
// one those from it, so no slot is polled twice or left out. An instance
// above its share cuts the excess to that window; a dead instance's leases
// reach it on their own. Switches nobody claimed for a quarter of a lease
// go to whoever comes first.
func (s *Store) ShareSwitches(ctx context.Context, owner string, lease time.Duration) (SwitchRound, error) {
	var r SwitchRound
	now := s.now()
	until := now.Add(lease)
	window := now.Add(lease / 2)
	db := s.db.WithContext(ctx)

	// Renew while more than a third of the lease is left: an offered one
	// has less by the next round and ends.
	if err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Switch{}).Where("lease_owner = ? AND lease_until >= ? AND enabled = ?", owner, now.Add(lease/3), true).
			UpdateColumn("lease_until", until).Error
	}); err != nil {
		return r, wrap(err, "share switches: renew")
	}

	var live []ProberInstance
	if err := db.Where("seen_until >= ?", window).Find(&live).Error; err != nil {
		return r, wrap(err, "share switches: live instances")
	}
	self := false
	for i := range live {
		live[i].MaxChecks = 0 // no limit on switches
		self = self || live[i].ID == owner
	}
	if !self {
		live = append(live, ProberInstance{ID: owner})
	}
	var rows []struct {
		LeaseOwner string
		N          int
		Total      int
	}
	if err := db.Model(&Switch{}).Select("lease_owner, SUM(CASE WHEN lease_until >= ? THEN 1 ELSE 0 END) AS n, COUNT(*) AS total", window).
		Where("enabled = ?", true).Group("lease_owner").Scan(&rows).Error; err != nil {
		return r, wrap(err, "share switches: count held")
	}
	total := 0
	held := map[string]int{}
	for _, row := range rows {
		total += row.Total
		held[row.LeaseOwner] = row.N
	}
	targets := shareTargets(total, live)
	r.Instances, r.Target = len(live), targets[owner]
	mine := held[owner]

	switch {
	case mine > r.Target:
		short := 0
		for _, in := range live {
			if d := targets[in.ID] - held[in.ID]; in.ID != owner && d > 0 {
				short += d
			}
		}
		if n := min(mine-r.Target, short); n > 0 {
			var ids []int64
			if err := db.Model(&Switch{}).Where("lease_owner = ? AND lease_until >= ? AND enabled = ?", owner, window, true).
				Order("id DESC").Limit(n).Pluck("id", &ids).Error; err != nil {
				return r, wrap(err, "share switches: pick offers")
			}
			if len(ids) > 0 {
				r.OfferedIDs, r.OfferedUntil = ids, window
				if err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
					res := tx.Model(&Switch{}).Where("id IN ? AND lease_owner = ?", ids, owner).UpdateColumn("lease_until", window)
					r.Offered = int(res.RowsAffected)
					return res.Error
				}); err != nil {
					return r, wrap(err, "share switches: offer")
				}
			}
		}
	case mine < r.Target:
		// Leases that are ending or ended, those that end first.
		n, err := s.claimSwitches(ctx, owner, lease, now, r.Target-mine, func(q *gorm.DB) *gorm.DB {
			return q.Where("lease_until < ?", window).Order("lease_until, id")
		})
		r.Claimed += n
		if err != nil {
			return r, err
		}
	}
	// Switches nobody took for a quarter of a lease: whoever comes first.
	n, err := s.claimSwitches(ctx, owner, lease, now, -1, func(q *gorm.DB) *gorm.DB {
		return q.Where("lease_until < ?", now.Add(-lease/4)).Order("id")
	})
	r.Claimed += n
	if err != nil {
		return r, err
	}

	var sws []Switch
	if err := db.Where("lease_owner = ? AND lease_until >= ?", owner, now).Order("id").Find(&sws).Error; err != nil {
		return r, wrap(err, "share switches: read held")
	}
	r.Switches = make([]PollTarget, len(sws))
	for i := range sws {
		t := PollTarget{Switch: sws[i]}
		var err error
		if t.Creds, err = s.snmpCredentials(&sws[i]); err != nil {
			t.CredsErr = "the SNMP secrets cannot be opened: were they sealed under another PORTAL_SECRET?"
		}
		r.Switches[i] = t
	}
	return r, nil
}

// claimSwitches leases to owner up to n (n < 0: any number) enabled
// switches that pick selects, whose lease ends within the hand-over
// window. Each new lease starts when the old one ends, or now if it ended
// already. Two instances may pick the same rows; the WHERE on lease_until
// makes only one win each.
func (s *Store) claimSwitches(ctx context.Context, owner string, lease time.Duration, now time.Time, n int,
	pick func(*gorm.DB) *gorm.DB) (int, error) {
	if n == 0 {
		return 0, nil
	}
	q := pick(s.db.WithContext(ctx).Model(&Switch{}).Where("enabled = ?", true))
	if n > 0 {
		q = q.Limit(n)
	}
	var ids []int64
	if err := q.Pluck("id", &ids).Error; err != nil {
		return 0, wrap(err, "share switches: pick free")
	}
	if len(ids) == 0 {
		return 0, nil
	}
	claimed := 0
	// lease_from is set first: MySQL evaluates the assignments in order.
	err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE switches SET lease_from = CASE WHEN lease_until > ? THEN lease_until ELSE ? END, "+
			"lease_owner = ?, lease_until = ? WHERE id IN ? AND lease_until < ?",
			now, now, owner, now.Add(lease), ids, now.Add(lease/2))
		claimed = int(res.RowsAffected)
		return res.Error
	})
	return claimed, wrap(err, "share switches: claim")
}

// ReleaseSwitches gives up owner's leases on switches, so that the other
// instances take them at their next round (a clean shutdown). Run it
// before ReleaseChecks, which forgets the instance.
func (s *Store) ReleaseSwitches(ctx context.Context, owner string) error {
	return wrap(s.leaseWrite(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Switch{}).Where("lease_owner = ?", owner).
			UpdateColumns(map[string]any{"lease_owner": "", "lease_until": neverLeased}).Error
	}), "release switches")
}

// snmpCredentials opens the sealed secrets of sw.
func (s *Store) snmpCredentials(sw *Switch) (SNMPCredentials, error) {
	c := SNMPCredentials{SwitchID: sw.ID, Address: sw.Address, Version: sw.Version, V3User: sw.V3User,
		V3AuthProto: sw.V3AuthProto, V3PrivProto: sw.V3PrivProto,
		Timeout: time.Duration(sw.TimeoutMs) * time.Millisecond, MaxOIDs: sw.MaxOIDs}
	if c.Timeout <= 0 {
		c.Timeout = SwitchTimeoutDefault * time.Millisecond
	}
	if c.MaxOIDs <= 0 {
		c.MaxOIDs = SwitchMaxOIDsDefault
	}
	for _, f := range []struct {
		sealed string
		plain  *string
	}{{sw.Community, &c.Community}, {sw.V3AuthKey, &c.V3AuthKey}, {sw.V3PrivKey, &c.V3PrivKey}} {
		if f.sealed == "" {
			continue
		}
		v, err := s.snmpKey.Open(f.sealed)
		if err != nil {
			return SNMPCredentials{}, err
		}
		*f.plain = v
	}
	return c, nil
}

// Scrub replaces every secret of c found in text (an error message of an
// SNMP library, say) with "***", so that it can be logged and shown.
func (c SNMPCredentials) Scrub(text string) string {
	for _, secret := range []string{c.Community, c.V3AuthKey, c.V3PrivKey} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "***")
		}
	}
	return text
}

// PortToPoll is a monitored port of a switch with its port check, if the
// port is mapped to a device: the check's state as stored (the result
// writer's state machine starts from it).
type PortToPoll struct {
	SwitchPort
	Check *Check
}

// PortsToPoll lists the monitored ports of switch switchID, by ifIndex,
// each with its KindPort check if it has one.
func (s *Store) PortsToPoll(ctx context.Context, switchID int64) ([]PortToPoll, error) {
	db := s.db.WithContext(ctx)
	var ports []SwitchPort
	if err := db.Where("switch_id = ?", switchID).Order("if_index").Find(&ports).Error; err != nil {
		return nil, wrap(err, "ports to poll")
	}
	var checks []Check
	if err := db.Where("kind = ? AND id IN (SELECT check_id FROM switch_ports WHERE switch_id = ? AND check_id IS NOT NULL)",
		KindPort, switchID).Find(&checks).Error; err != nil {
		return nil, wrap(err, "ports to poll")
	}
	byID := make(map[int64]*Check, len(checks))
	for i := range checks {
		byID[checks[i].ID] = &checks[i]
	}
	out := make([]PortToPoll, len(ports))
	for i, p := range ports {
		out[i].SwitchPort = p
		if p.CheckID != nil {
			out[i].Check = byID[*p.CheckID]
		}
	}
	return out, nil
}

// LatestTrafficReadings is the newest stored sample of each monitored port
// of switch switchID, by port ID (ports never polled are missing): the
// base of the next poll by an instance that has just taken the switch
// over. One index seek per port.
func (s *Store) LatestTrafficReadings(ctx context.Context, switchID int64) (map[int64]TrafficSample, error) {
	var samples []TrafficSample
	err := s.db.WithContext(ctx).Raw(`SELECT t.* FROM switch_ports p
		JOIN traffic_samples t ON t.port_id = p.id
			AND t.at = (SELECT MAX(x.at) FROM traffic_samples x WHERE x.port_id = p.id)
		WHERE p.switch_id = ?`, switchID).Scan(&samples).Error
	if err != nil {
		return nil, wrap(err, "latest traffic readings")
	}
	out := make(map[int64]TrafficSample, len(samples))
	for _, t := range samples {
		t.At = t.At.UTC()
		out[t.PortID] = t
	}
	return out, nil
}

// SwitchPolled records a poll of switch switchID: when it ran, the name
// the agent gave (kept as it was when empty) and the poll's error ("" when
// it succeeded). The error is cut to one line of at most 255 bytes; the
// caller scrubs it of secrets first (SNMPCredentials.Scrub).
func (s *Store) SwitchPolled(ctx context.Context, switchID int64, at time.Time, sysName, errText string) error {
	cols := map[string]any{"last_poll_at": at.UTC(), "last_error": oneLine(errText, 255)}
	if sysName != "" {
		cols["sys_name"] = oneLine(sysName, 255)
	}
	err := s.db.WithContext(ctx).Model(&Switch{}).Where("id = ?", switchID).UpdateColumns(cols).Error
	return wrap(err, "switch polled")
}

// oneLine is text with its control characters made spaces, cut to at most
// n bytes on a character boundary.
func oneLine(text string, n int) string {
	text = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text))
	if len(text) <= n {
		return text
	}
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n]
}
