package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// portVisible tells whether scope sc may see port p: staff see every port,
// a customer only the ports mapped to its organization.
func portVisible(sc Scope, p *SwitchPort) bool {
	if sc.All() {
		return true
	}
	return p.OrgID != nil && sc.Allows(*p.OrgID)
}

// visibleFrom is where what scope sc may read of port p's traffic from
// from on starts: a customer reads nothing from before the port went to
// its organization (p.MappedSince: the previous tenant's traffic), staff
// read everything.
func visibleFrom(sc Scope, p *SwitchPort, from time.Time) time.Time {
	if sc.All() || p.MappedSince == nil || !p.MappedSince.After(from) {
		return from
	}
	return p.MappedSince.UTC()
}

// visibleSample is visibleFrom's rule in SQL, on a port p and its sample
// ts, for a customer's scope ("" for staff).
func visibleSample(sc Scope) string {
	if sc.All() {
		return ""
	}
	return " AND (p.mapped_since IS NULL OR ts.at >= p.mapped_since)"
}

// sameID tells whether two optional IDs are the same (both nil included).
func sameID(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// GetSwitchPort is the port with reference ref, if sc may see it: another
// organization's port, or an unmapped one for a customer, is ErrNotFound.
func (s *Store) GetSwitchPort(ctx context.Context, sc Scope, ref string) (*SwitchPort, error) {
	var p SwitchPort
	if err := s.db.WithContext(ctx).Where("ref = ?", ref).First(&p).Error; err != nil {
		return nil, wrap(notFound(err), "get switch port")
	}
	if !portVisible(sc, &p) {
		return nil, wrap(ErrNotFound, "get switch port")
	}
	return &p, nil
}

// TrafficMonthOf is port p's month (2006-01, the provider's calendar): the
// stored figures once the janitor built them (BuildTrafficMonths), else
// counted now from the samples (a month still running, or one not built
// yet). The 95th percentile is taken over the month's 5-minute slots.
func (s *Store) TrafficMonthOf(ctx context.Context, sc Scope, p *SwitchPort, month string) (TrafficMonth, error) {
	if !portVisible(sc, p) {
		return TrafficMonth{}, wrap(ErrNotFound, "traffic month")
	}
	from, to, _, err := s.monthBounds(month)
	if err != nil {
		return TrafficMonth{}, err
	}
	db := s.db.WithContext(ctx)
	if lo := visibleFrom(sc, p, from); lo.After(from) {
		// Mapped during the month: its customer's part only.
		m, err := countTrafficMonth(db, p.ID, month, lo, to)
		return m, wrap(err, "traffic month")
	}
	var m TrafficMonth
	err = db.Where("port_id = ? AND month = ?", p.ID, month).First(&m).Error
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return TrafficMonth{}, wrap(err, "traffic month")
	}
	m, err = countTrafficMonth(db, p.ID, month, from, to)
	return m, wrap(err, "traffic month")
}

// countTrafficMonth counts port portID's month [from, to) from its raw
// samples.
func countTrafficMonth(db *gorm.DB, portID int64, month string, from, to time.Time) (TrafficMonth, error) {
	var samples []TrafficSample
	if err := db.Select("at", "valid", "ms", "in_octets", "out_octets").
		Where("port_id = ? AND at >= ? AND at < ? AND valid = ?", portID, from.UTC(), to.UTC(), true).
		Order("at").Find(&samples).Error; err != nil {
		return TrafficMonth{}, err
	}
	m := TrafficMonth{PortID: portID, Month: month}
	in, out := SlotRates(samples)
	m.Samples = len(in)
	m.InP95Bps, m.OutP95Bps = Percentile95(in), Percentile95(out)
	for i := range in {
		m.InMaxBps, m.OutMaxBps = max(m.InMaxBps, in[i]), max(m.OutMaxBps, out[i])
	}
	for i := range samples {
		m.InOctets += samples[i].InOctets
		m.OutOctets += samples[i].OutOctets
	}
	return m, nil
}
