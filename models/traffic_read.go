package models

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"
)

// TrafficFilter narrows a list of monitored ports. A customer's scope
// already keeps it to its own organization's ports; staff may pick one
// organization (OrgID), the ports mapped to nobody (Unmapped) or one
// switch (SwitchID).
type TrafficFilter struct {
	OrgID    int64
	Unmapped bool
	SwitchID int64
	// Month (2006-01, the provider's calendar), when set, adds each port's
	// figures of that month (its 95th percentiles) to the list.
	Month string
	// Busiest orders the ports by their current rate, highest first;
	// otherwise by switch name and interface index.
	Busiest bool
	// Page (from 1) and PageSize cut the list; PageSize 0 lists all.
	Page, PageSize int
}

// TrafficPortRow is a monitored port as the traffic pages list it: with
// its switch, the organization and device it is mapped to, and its newest
// sample.
type TrafficPortRow struct {
	SwitchPort
	SwitchName string
	// SwitchIntervalSec, SwitchPollAt and SwitchError are the switch's
	// polling interval, last poll and last poll's error ("" when it
	// answered).
	SwitchIntervalSec int
	SwitchPollAt      *time.Time
	SwitchError       string
	OrgName           string // "" when unmapped
	DeviceName        string // "" when mapped to no device
	// Last is the newest sample; nil before the first poll.
	Last *TrafficSample `gorm:"-"`
	// Month holds the figures of TrafficFilter.Month, when asked for.
	Month *TrafficMonth `gorm:"-"`
}

// Interval is the time between two polls of the port's switch.
func (r *TrafficPortRow) Interval() time.Duration {
	return (&Switch{IntervalSec: r.SwitchIntervalSec}).Interval()
}

// InBps and OutBps are the current rates: the newest sample's (0 without
// one, or when it has no deltas).
func (r *TrafficPortRow) InBps() int64 {
	if r.Last == nil {
		return 0
	}
	return r.Last.InBps()
}

func (r *TrafficPortRow) OutBps() int64 {
	if r.Last == nil {
		return 0
	}
	return r.Last.OutBps()
}

// HasRate says whether the newest sample carries rates.
func (r *TrafficPortRow) HasRate() bool { return r.Last != nil && r.Last.Valid && r.Last.Ms > 0 }

// TrafficPortList is one page of a list of ports.
type TrafficPortList struct {
	Ports       []TrafficPortRow
	Total       int
	Page, Pages int
}

// trafficPorts is the query of the ports sc sees that f picks, joined to
// their switch, organization and device (as p, sw, o, d).
func trafficPorts(db *gorm.DB, sc Scope, f TrafficFilter) *gorm.DB {
	q := sc.apply(db.Table("switch_ports p").
		Joins("JOIN switches sw ON sw.id = p.switch_id").
		Joins("LEFT JOIN organizations o ON o.id = p.org_id").
		Joins("LEFT JOIN devices d ON d.id = p.device_id"), "p.org_id")
	switch {
	case f.Unmapped:
		q = q.Where("p.org_id IS NULL")
	case f.OrgID != 0:
		q = q.Where("p.org_id = ?", f.OrgID)
	}
	if f.SwitchID != 0 {
		q = q.Where("p.switch_id = ?", f.SwitchID)
	}
	return q
}

// trafficPortCols are the columns of a TrafficPortRow.
const trafficPortCols = "p.*, sw.name AS switch_name, sw.interval_sec AS switch_interval_sec, " +
	"sw.last_poll_at AS switch_poll_at, sw.last_error AS switch_error, " +
	"COALESCE(o.name, '') AS org_name, COALESCE(d.name, '') AS device_name"

// latestSampleJoin joins each port (p) to its newest sample (ts): one
// index seek per port.
const latestSampleJoin = "JOIN traffic_samples ts ON ts.port_id = p.id AND ts.at = (SELECT MAX(at) FROM traffic_samples WHERE port_id = p.id)"

// findTrafficPorts reads the ports of q with their newest samples: two
// statements, whatever the number of ports.
func findTrafficPorts(db *gorm.DB, sc Scope, f TrafficFilter, more func(*gorm.DB) *gorm.DB) ([]TrafficPortRow, error) {
	if more == nil {
		more = func(q *gorm.DB) *gorm.DB { return q }
	}
	var rows []TrafficPortRow
	if err := more(trafficPorts(db, sc, f)).Select(trafficPortCols).Order("sw.name, p.if_index, p.id").
		Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return rows, nil
	}
	var last []TrafficSample
	if err := more(trafficPorts(db, sc, f)).Select("ts.*").Joins(latestSampleJoin).Find(&last).Error; err != nil {
		return nil, err
	}
	byPort := make(map[int64]*TrafficSample, len(last))
	for i := range last {
		last[i].At = last[i].At.UTC()
		byPort[last[i].PortID] = &last[i]
	}
	for i := range rows {
		if l := byPort[rows[i].ID]; l != nil && !l.At.Before(visibleFrom(sc, &rows[i].SwitchPort, l.At)) {
			rows[i].Last = l
		}
		rows[i].SwitchPollAt = utcPtr(rows[i].SwitchPollAt)
	}
	return rows, nil
}

// ListTrafficPorts lists the monitored ports sc sees that f picks: a
// customer its organization's mapped ports, staff every port, unmapped
// ones included. Each comes with its switch's name, its organization's and
// device's names and its newest sample, in a few statements however many
// ports there are (and, with f.Month, that month's figures).
func (s *Store) ListTrafficPorts(ctx context.Context, sc Scope, f TrafficFilter) (*TrafficPortList, error) {
	db := s.db.WithContext(ctx)
	rows, err := findTrafficPorts(db, sc, f, nil)
	if err != nil {
		return nil, wrap(err, "list traffic ports")
	}
	if f.Busiest {
		// Stable: ports at the same rate keep the order by name.
		slices.SortStableFunc(rows, func(a, b TrafficPortRow) int {
			return cmp.Compare(max(b.InBps(), b.OutBps()), max(a.InBps(), a.OutBps()))
		})
	}
	l := &TrafficPortList{Total: len(rows), Page: 1, Pages: 1, Ports: rows}
	if f.PageSize > 0 {
		l.Pages = max(1, (len(rows)+f.PageSize-1)/f.PageSize)
		l.Page = min(max(f.Page, 1), l.Pages)
		lo := (l.Page - 1) * f.PageSize
		l.Ports = rows[lo:min(lo+f.PageSize, len(rows))]
	}
	if f.Month != "" && len(l.Ports) > 0 {
		if err := s.addTrafficMonths(db, sc, l.Ports, f.Month); err != nil {
			return nil, wrap(err, "list traffic ports")
		}
	}
	return l, nil
}

// addTrafficMonths gives each of rows its figures of month: the stored
// ones, else counted from the month's samples, read for all the rows at
// once (a chunk of ports a statement). A customer's port mapped during
// the month is counted from the samples since (visibleFrom).
func (s *Store) addTrafficMonths(db *gorm.DB, sc Scope, rows []TrafficPortRow, month string) error {
	from, to, _, err := s.monthBounds(month)
	if err != nil {
		return err
	}
	ids := make([]int64, len(rows))
	clip := map[int64]time.Time{}
	for i := range rows {
		ids[i] = rows[i].ID
		if lo := visibleFrom(sc, &rows[i].SwitchPort, from); lo.After(from) {
			clip[rows[i].ID] = lo
		}
	}
	var stored []TrafficMonth
	if err := findIn(db, ids, &stored, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("month = ? AND port_id IN ?", month, chunk)
	}); err != nil {
		return err
	}
	months := map[int64]*TrafficMonth{}
	for i := range stored {
		if _, clipped := clip[stored[i].PortID]; !clipped {
			months[stored[i].PortID] = &stored[i]
		}
	}
	var missing []int64
	for _, id := range ids {
		if months[id] == nil {
			missing = append(missing, id)
		}
	}
	var samples []TrafficSample
	if err := findIn(db, missing, &samples, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("port_id", "at", "valid", "ms", "in_octets", "out_octets").
			Where("port_id IN ? AND at >= ? AND at < ? AND valid = ?", chunk, from, to, true)
	}); err != nil {
		return err
	}
	byPort := map[int64][]TrafficSample{}
	for _, smp := range samples {
		if lo, clipped := clip[smp.PortID]; !clipped || !smp.At.Before(lo) {
			byPort[smp.PortID] = append(byPort[smp.PortID], smp)
		}
	}
	for _, id := range missing {
		m := trafficMonthFrom(id, month, byPort[id])
		months[id] = &m
	}
	for i := range rows {
		rows[i].Month = months[rows[i].ID]
	}
	return nil
}

// trafficMonthFrom counts port portID's month from its valid samples, as
// countTrafficMonth does.
func trafficMonthFrom(portID int64, month string, samples []TrafficSample) TrafficMonth {
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
	return m
}

// TrafficChoices are what a staff list of ports may be narrowed to: the
// organizations and the switches that have monitored ports.
type TrafficChoices struct {
	Orgs     []TrafficChoice
	Switches []TrafficChoice
}

// TrafficChoice is one organization or switch of the filters.
type TrafficChoice struct {
	ID   int64
	Name string
}

// ListTrafficChoices lists the organizations and switches of the ports sc
// sees.
func (s *Store) ListTrafficChoices(ctx context.Context, sc Scope) (*TrafficChoices, error) {
	db := s.db.WithContext(ctx)
	var c TrafficChoices
	if err := sc.apply(db.Table("organizations o"), "o.id").Select("o.id, o.name").
		Where("EXISTS (SELECT 1 FROM switch_ports p WHERE p.org_id = o.id)").Order("o.name, o.id").
		Scan(&c.Orgs).Error; err != nil {
		return nil, wrap(err, "list traffic choices")
	}
	if err := sc.apply(db.Table("switches sw").Joins("JOIN switch_ports p ON p.switch_id = sw.id"), "p.org_id").
		Select("sw.id, sw.name").Group("sw.id, sw.name").Order("sw.name, sw.id").Scan(&c.Switches).Error; err != nil {
		return nil, wrap(err, "list traffic choices")
	}
	return &c, nil
}

// TrafficNow is a port's state for its page: the port with its switch and
// mapping, its newest sample, and its errors and discards over the last
// 24 hours.
type TrafficNow struct {
	TrafficPortRow
	// DayFrom starts the 24 hours the counts below cover.
	DayFrom                 time.Time
	InErrors, OutErrors     int64
	InDiscards, OutDiscards int64
	// DaySamples and DayDown count the day's samples and those that found
	// the port down.
	DaySamples, DayDown int
}

// PortNow is port p's state now: its newest sample (state, last poll,
// current rates) and the day's errors and discards.
func (s *Store) PortNow(ctx context.Context, sc Scope, p *SwitchPort) (*TrafficNow, error) {
	if !portVisible(sc, p) {
		return nil, wrap(ErrNotFound, "port now")
	}
	db := s.db.WithContext(ctx)
	rows, err := findTrafficPorts(db, sc, TrafficFilter{}, func(q *gorm.DB) *gorm.DB { return q.Where("p.id = ?", p.ID) })
	if err != nil {
		return nil, wrap(err, "port now")
	}
	if len(rows) == 0 {
		return nil, wrap(ErrNotFound, "port now")
	}
	n := &TrafficNow{TrafficPortRow: rows[0], DayFrom: s.now().UTC().Add(-24 * time.Hour)}
	var sums struct {
		InErrors, OutErrors, InDiscards, OutDiscards int64
		Samples, Down                                int
	}
	if err := db.Model(&TrafficSample{}).
		Select("COALESCE(SUM(in_errors), 0) AS in_errors, COALESCE(SUM(out_errors), 0) AS out_errors, "+
			"COALESCE(SUM(in_discards), 0) AS in_discards, COALESCE(SUM(out_discards), 0) AS out_discards, "+
			"COUNT(*) AS samples, COALESCE(SUM(CASE WHEN oper_up THEN 0 ELSE 1 END), 0) AS down").
		Where("port_id = ? AND at >= ?", p.ID, visibleFrom(sc, p, n.DayFrom)).Scan(&sums).Error; err != nil {
		return nil, wrap(err, "port now")
	}
	n.InErrors, n.OutErrors, n.InDiscards, n.OutDiscards = sums.InErrors, sums.OutErrors, sums.InDiscards, sums.OutDiscards
	n.DaySamples, n.DayDown = sums.Samples, sums.Down
	return n, nil
}

// TrafficPoint is a port's traffic over one step of a chart, from Start:
// the mean rates (octets over the time the samples cover), the highest
// sample rates, how many valid samples it holds and how many samples
// found the port down.
type TrafficPoint struct {
	Start               time.Time
	InAvgBps, OutAvgBps int64
	InMaxBps, OutMaxBps int64
	Samples             int
	Down                int
	Ms                  int64
	InOctets, OutOctets int64
}

func (p *TrafficPoint) addRollup(r *TrafficRollup) {
	p.Samples += r.Samples
	p.Down += r.DownSamples
	p.Ms += r.Ms
	p.InOctets += r.InOctets
	p.OutOctets += r.OutOctets
	p.InMaxBps, p.OutMaxBps = max(p.InMaxBps, r.InMaxBps), max(p.OutMaxBps, r.OutMaxBps)
}

func (p *TrafficPoint) addSample(smp *TrafficSample) {
	if !smp.OperUp {
		p.Down++
	}
	if !smp.Valid || smp.Ms <= 0 {
		return
	}
	p.Samples++
	p.Ms += smp.Ms
	p.InOctets += smp.InOctets
	p.OutOctets += smp.OutOctets
	p.InMaxBps, p.OutMaxBps = max(p.InMaxBps, smp.InBps()), max(p.OutMaxBps, smp.OutBps())
}

// Traffic rollup periods.
const (
	trafficHour = "h"
	trafficDay  = "d"
)

// TrafficSeries is port p's traffic over [from, to) in steps of step, on
// the UTC grid of step (the first point starts at from truncated to step):
// one point per step holding samples, oldest first. Periods before the
// rollup marks are read from the stored rollups, when step is made of
// whole hours or days, and the rest from the raw samples, so the figures
// add up the same either side of the marks. A step under an hour is read
// from the raw samples.
func (s *Store) TrafficSeries(ctx context.Context, sc Scope, p *SwitchPort, from, to time.Time, step time.Duration) ([]TrafficPoint, error) {
	if !portVisible(sc, p) {
		return nil, wrap(ErrNotFound, "traffic series")
	}
	if step <= 0 {
		return nil, wrap(errors.New("step must be positive"), "traffic series")
	}
	utc(&from, &to)
	cur := from.Truncate(step)
	// A customer's port mapped since from: the step it was mapped in is
	// read from the samples since, the rest as usual from the next step.
	lo := visibleFrom(sc, p, from)
	if lo.After(from) {
		cur = lo.Truncate(step)
		if cur.Before(lo) {
			cur = cur.Add(step)
		}
	}
	db := s.db.WithContext(ctx)
	points := map[int64]*TrafficPoint{}
	point := func(t time.Time) *TrafficPoint {
		start := t.UTC().Truncate(step)
		pt := points[start.Unix()]
		if pt == nil {
			pt = &TrafficPoint{Start: start}
			points[start.Unix()] = pt
		}
		return pt
	}
	var marks []trafficMark
	if step%time.Hour == 0 && cur.Before(to) {
		if err := db.Find(&marks).Error; err != nil {
			return nil, wrap(err, "traffic series")
		}
	}
	builtUntil := func(period string) time.Time {
		for _, m := range marks {
			if m.Period == period {
				return m.BuiltUntil.UTC()
			}
		}
		return time.Time{}
	}
	// Daily rollups for whole-day steps, then hourly ones, each up to its
	// mark; the raw samples after.
	for _, period := range []string{trafficDay, trafficHour} {
		length := time.Hour
		if period == trafficDay {
			length = 24 * time.Hour
		}
		if step%length != 0 {
			continue
		}
		until := builtUntil(period)
		if until.After(to) {
			until = to
		}
		if !cur.Before(until) {
			continue
		}
		var rs []TrafficRollup
		if err := db.Where("port_id = ? AND period = ? AND start >= ? AND start < ?", p.ID, period, cur, until).
			Find(&rs).Error; err != nil {
			return nil, wrap(err, "traffic series")
		}
		for i := range rs {
			point(rs[i].Start).addRollup(&rs[i])
		}
		cur = until
	}
	raw := func(a, b time.Time) error {
		if !a.Before(b) {
			return nil
		}
		var raw []TrafficSample
		if err := db.Select("at", "oper_up", "valid", "ms", "in_octets", "out_octets").
			Where("port_id = ? AND at >= ? AND at < ?", p.ID, a, b).Find(&raw).Error; err != nil {
			return err
		}
		for i := range raw {
			point(raw[i].At).addSample(&raw[i])
		}
		return nil
	}
	if lo.After(from) {
		// cur is the first whole step since lo; the part before it
		// counts from the samples.
		end := cur
		if to.Before(end) {
			end = to
		}
		if err := raw(lo, end); err != nil {
			return nil, wrap(err, "traffic series")
		}
	}
	if err := raw(cur, to); err != nil {
		return nil, wrap(err, "traffic series")
	}
	out := make([]TrafficPoint, 0, len(points))
	for _, pt := range points {
		pt.InAvgBps, pt.OutAvgBps = bitsPerSecond(pt.InOctets, pt.Ms, true), bitsPerSecond(pt.OutOctets, pt.Ms, true)
		out = append(out, *pt)
	}
	slices.SortFunc(out, func(a, b TrafficPoint) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// TrafficRank is what BusiestPorts ranks ports by.
type TrafficRank string

// The rankings of BusiestPorts: the mean rate, or the highest sample rate,
// of the busier direction.
const (
	RankMean TrafficRank = "mean"
	RankPeak TrafficRank = "peak"
)

// BusyPort is a port of BusiestPorts with its rates since the time asked.
type BusyPort struct {
	TrafficPortRow
	Samples             int
	InAvgBps, OutAvgBps int64
	InMaxBps, OutMaxBps int64
}

// Rate is what the port was ranked by.
func (b *BusyPort) Rate(by TrafficRank) int64 {
	if by == RankPeak {
		return max(b.InMaxBps, b.OutMaxBps)
	}
	return max(b.InAvgBps, b.OutAvgBps)
}

// BusiestPorts lists the limit ports sc sees with the highest rate since
// since (the busier direction's mean, or peak sample, by by), busiest
// first, counted from the raw samples in one statement, then the ports'
// details in two more.
func (s *Store) BusiestPorts(ctx context.Context, sc Scope, since time.Time, limit int, by TrafficRank) ([]BusyPort, error) {
	since = since.UTC()
	db := s.db.WithContext(ctx)
	var aggs []struct {
		PortID        int64
		Samples       int
		Ms            int64
		InOctets      int64
		OutOctets     int64
		InMax, OutMax int64
	}
	err := trafficPorts(db, sc, TrafficFilter{}).
		Joins("JOIN traffic_samples ts ON ts.port_id = p.id AND ts.at >= ? AND ts.valid = ? AND ts.ms > 0"+visibleSample(sc), since, true).
		Select("p.id AS port_id, COUNT(*) AS samples, SUM(ts.ms) AS ms, SUM(ts.in_octets) AS in_octets, " +
			"SUM(ts.out_octets) AS out_octets, MAX(" + trafficRateSQL(dialectOf(db), "ts.in_octets", "ts.ms") + ") AS in_max, " +
			"MAX(" + trafficRateSQL(dialectOf(db), "ts.out_octets", "ts.ms") + ") AS out_max").
		Group("p.id").Scan(&aggs).Error
	if err != nil {
		return nil, wrap(err, "busiest ports")
	}
	busy := make([]BusyPort, len(aggs))
	for i, a := range aggs {
		busy[i] = BusyPort{Samples: a.Samples, InAvgBps: bitsPerSecond(a.InOctets, a.Ms, true),
			OutAvgBps: bitsPerSecond(a.OutOctets, a.Ms, true), InMaxBps: a.InMax, OutMaxBps: a.OutMax}
		busy[i].ID = a.PortID
	}
	slices.SortFunc(busy, func(a, b BusyPort) int {
		if c := cmp.Compare(b.Rate(by), a.Rate(by)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(busy) > limit {
		busy = busy[:limit]
	}
	if len(busy) == 0 {
		return busy, nil
	}
	ids := make([]int64, len(busy))
	for i := range busy {
		ids[i] = busy[i].ID
	}
	// At most limit ports: one IN list.
	rows, err := findTrafficPorts(db, sc, TrafficFilter{}, func(q *gorm.DB) *gorm.DB { return q.Where("p.id IN ?", ids) })
	if err != nil {
		return nil, wrap(err, "busiest ports")
	}
	byID := make(map[int64]TrafficPortRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	for i := range busy {
		busy[i].TrafficPortRow = byID[busy[i].ID]
	}
	return busy, nil
}

// TrafficCSVDays bounds the period of one samples download.
const TrafficCSVDays = MaxResultsDays

// EachTrafficSample calls fn for each stored sample of port p in
// [from, to), oldest first, reading row by row.
func (s *Store) EachTrafficSample(ctx context.Context, sc Scope, p *SwitchPort, from, to time.Time, fn func(*TrafficSample) error) error {
	if !portVisible(sc, p) {
		return wrap(ErrNotFound, "each traffic sample")
	}
	utc(&from, &to)
	from = visibleFrom(sc, p, from)
	db := s.db.WithContext(ctx)
	rows, err := db.Model(&TrafficSample{}).Where("port_id = ? AND at >= ? AND at < ?", p.ID, from, to).
		Order("at").Rows()
	if err != nil {
		return wrap(err, "each traffic sample")
	}
	defer rows.Close()
	for rows.Next() {
		var smp TrafficSample
		if err := db.ScanRows(rows, &smp); err != nil {
			return wrap(err, "each traffic sample")
		}
		smp.At = smp.At.UTC()
		if err := fn(&smp); err != nil {
			return wrap(err, "each traffic sample")
		}
	}
	return wrap(rows.Err(), "each traffic sample")
}
