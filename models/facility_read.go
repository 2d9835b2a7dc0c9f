package models

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// What the cabinet pages read: each cabinet with meters mapped to it,
// its power draw now (per feed and in total) against the contracted
// power, its temperature and humidity, its alerts; a cabinet's series
// over a range for the charts, and its readings for a download. A
// customer reads its own organization's cabinets, each meter only since
// it was mapped to the organization (MappedSince), as a port's traffic.

// CabinetAlertDays is how far back a cabinet's ended alerts are listed.
const CabinetAlertDays = 7

// cabinetAlertsShown bounds the ended alerts listed per cabinet.
const cabinetAlertsShown = 10

// CabinetKey is the URL key of organization slug's cabinet: the slug, a
// dot, and the cabinet's name in unpadded URL-safe base64, so that any
// name (spaces, slashes) makes one path segment and reads back the same.
func CabinetKey(slug, cabinet string) string {
	return slug + "." + base64.RawURLEncoding.EncodeToString([]byte(cabinet))
}

// ParseCabinetKey reads a CabinetKey back; ok is false for anything else.
func ParseCabinetKey(key string) (slug, cabinet string, ok bool) {
	slug, enc, found := strings.Cut(key, ".")
	if !found || !slugRE.MatchString(slug) || enc == "" {
		return "", "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !utf8.Valid(b) || len(b) == 0 || utf8.RuneCount(b) > maxMeterCabinet {
		return "", "", false
	}
	return slug, string(b), true
}

// CabinetMeter is a meter of a cabinet as its pages show it: with its
// device, and its last value when the reader may see it and it is recent.
type CabinetMeter struct {
	FacilityMeter
	SwitchName        string
	SwitchIntervalSec int
	// Fresh says the last value is the reader's to see and at most three
	// polls old: it counts in the cabinet's figures.
	Fresh bool `gorm:"-"`
}

// CabinetAlert is a threshold crossing of one of a cabinet's meters.
type CabinetAlert struct {
	FacilityAlert
	MeterRef   string
	MeterLabel string
	Quantity   string
	Feed       string
}

// Unit is the unit of the alert's meter.
func (a *CabinetAlert) Unit() string { return QuantityUnit(a.Quantity) }

// MeterName names the alert's meter as FacilityMeter.Name does.
func (a *CabinetAlert) MeterName() string {
	return (&FacilityMeter{Label: a.MeterLabel, Quantity: a.Quantity, Feed: a.Feed}).Name()
}

// CabinetNow is a cabinet with its meters and its figures now.
type CabinetNow struct {
	Key     string
	OrgID   int64
	OrgSlug string
	OrgName string
	Cabinet string
	Meters  []CabinetMeter
	// DrawQuantity is what the draw is in: power when the cabinet has
	// power meters, else current (QuantityCurrent), else "" (no PDU).
	DrawQuantity string
	// FeedA, FeedB and Total are the draw now in thousandths of the
	// unit: the sum of the fresh meters of that quantity (nil when none
	// is fresh).
	FeedA, FeedB, Total *int64
	// ContractedW is the contracted power of the contracts mapped (their
	// sum), 0 when none states one; Contracts are their numbers.
	ContractedW int64
	Contracts   []string
	// Temperature and Humidity are the highest fresh readings of the
	// cabinet's sensors (nil when none).
	Temperature, Humidity *int64
	// Open are the crossings going on; Recent those ended in the last
	// CabinetAlertDays days, newest first.
	Open, Recent []CabinetAlert
}

// DrawUnit is the unit of the draw ("W" or "A").
func (c *CabinetNow) DrawUnit() string { return QuantityUnit(c.DrawQuantity) }

// SharePct is the draw now as a percentage of the contracted power; ok
// is false without both.
func (c *CabinetNow) SharePct() (pct int64, ok bool) {
	if c.DrawQuantity != QuantityPower || c.Total == nil || c.ContractedW <= 0 {
		return 0, false
	}
	return (*c.Total/10 + c.ContractedW/2) / c.ContractedW, true
}

// Alerting says whether a threshold is crossed now.
func (c *CabinetNow) Alerting() bool { return len(c.Open) > 0 }

// cabinetMeters reads the meters mapped to a cabinet that sc sees, with
// their devices and organizations, narrowed by orgID and cabinet when
// set.
func cabinetMeters(db *gorm.DB, sc Scope, orgID int64, cabinet string) ([]struct {
	CabinetMeter
	OrgSlug, OrgName string
}, error) {
	q := sc.apply(db.Table("facility_meters m").
		Joins("JOIN switches sw ON sw.id = m.switch_id").
		Joins("JOIN organizations o ON o.id = m.org_id").
		Where("m.org_id IS NOT NULL AND m.cabinet <> ''"), "m.org_id")
	if orgID != 0 {
		q = q.Where("m.org_id = ?", orgID)
	}
	if cabinet != "" {
		q = q.Where("m.cabinet = ?", cabinet)
	}
	var rows []struct {
		CabinetMeter
		OrgSlug, OrgName string
	}
	err := q.Select("m.*, sw.name AS switch_name, sw.interval_sec AS switch_interval_sec, o.slug AS org_slug, o.name AS org_name").
		Order("o.name, o.id, m.cabinet, m.feed, m.quantity, m.label, m.id").Scan(&rows).Error
	return rows, err
}

// meterVisibleFrom is the first time of meter m's data that sc reads:
// from itself for staff, at least its MappedSince for a customer.
func meterVisibleFrom(sc Scope, m *FacilityMeter, from time.Time) time.Time {
	if sc.All() || m.MappedSince == nil || !m.MappedSince.After(from) {
		return from
	}
	return m.MappedSince.UTC()
}

// ListCabinets lists the cabinets with meters that sc sees (narrowed to
// organization orgID when not 0), by organization and cabinet, with
// their figures now: a few statements whatever their number.
func (s *Store) ListCabinets(ctx context.Context, sc Scope, orgID int64) ([]CabinetNow, error) {
	out, err := s.cabinets(ctx, sc, orgID, "")
	return out, wrap(err, "list cabinets")
}

// GetCabinet is the cabinet of key as sc sees it: another organization's
// cabinet, or one without meters, is ErrNotFound.
func (s *Store) GetCabinet(ctx context.Context, sc Scope, key string) (*CabinetNow, error) {
	slug, cabinet, ok := ParseCabinetKey(key)
	if !ok {
		return nil, wrap(ErrNotFound, "get cabinet")
	}
	var o Organization
	if err := s.db.WithContext(ctx).Select("id").Where("slug = ?", slug).First(&o).Error; err != nil {
		return nil, wrap(notFound(err), "get cabinet")
	}
	if !sc.Allows(o.ID) {
		return nil, wrap(ErrNotFound, "get cabinet")
	}
	out, err := s.cabinets(ctx, sc, o.ID, cabinet)
	if err != nil {
		return nil, wrap(err, "get cabinet")
	}
	for i := range out {
		// MySQL compares without regard to case: the key names one.
		if out[i].Cabinet == cabinet {
			return &out[i], nil
		}
	}
	return nil, wrap(ErrNotFound, "get cabinet")
}

func (s *Store) cabinets(ctx context.Context, sc Scope, orgID int64, cabinet string) ([]CabinetNow, error) {
	db := s.db.WithContext(ctx)
	rows, err := cabinetMeters(db, sc, orgID, cabinet)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var out []CabinetNow
	index := map[cabinetID]int{}
	var contractIDs []int64
	for _, r := range rows {
		m := r.CabinetMeter
		fixMeterTimes(&m.FacilityMeter)
		if m.LastAt != nil && m.LastMilli != nil {
			interval := (&Switch{IntervalSec: m.SwitchIntervalSec}).Interval()
			m.Fresh = !m.LastAt.Before(meterVisibleFrom(sc, &m.FacilityMeter, *m.LastAt)) && now.Sub(*m.LastAt) <= 3*interval
		}
		k := cabinetID{*m.OrgID, m.Cabinet}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, CabinetNow{Key: CabinetKey(r.OrgSlug, m.Cabinet), OrgID: *m.OrgID, OrgSlug: r.OrgSlug,
				OrgName: r.OrgName, Cabinet: m.Cabinet})
		}
		out[i].Meters = append(out[i].Meters, m)
		if m.ContractID != nil && !slices.Contains(contractIDs, *m.ContractID) {
			contractIDs = append(contractIDs, *m.ContractID)
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	var contracts []Contract
	if err := findIn(db, contractIDs, &contracts, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "number_year", "number_seq", "power_watts").Where("id IN ?", chunk)
	}); err != nil {
		return nil, err
	}
	byContract := map[int64]*Contract{}
	for i := range contracts {
		byContract[contracts[i].ID] = &contracts[i]
	}
	for i := range out {
		c := &out[i]
		seen := map[int64]bool{}
		for j := range c.Meters {
			m := &c.Meters[j]
			if m.ContractID != nil && !seen[*m.ContractID] {
				seen[*m.ContractID] = true
				if ct := byContract[*m.ContractID]; ct != nil {
					c.ContractedW += ct.PowerWatts
					c.Contracts = append(c.Contracts, ct.Number())
				}
			}
			switch m.Quantity {
			case QuantityPower:
				c.DrawQuantity = QuantityPower
			case QuantityCurrent:
				if c.DrawQuantity == "" {
					c.DrawQuantity = QuantityCurrent
				}
			}
		}
		slices.Sort(c.Contracts)
		add := func(dst **int64, v int64) {
			if *dst == nil {
				*dst = new(int64)
			}
			**dst += v
		}
		highest := func(dst **int64, v int64) {
			if *dst == nil || v > **dst {
				*dst = &v
			}
		}
		for j := range c.Meters {
			m := &c.Meters[j]
			if !m.Fresh {
				continue
			}
			switch {
			case m.Quantity == c.DrawQuantity:
				add(&c.Total, *m.LastMilli)
				if m.Feed == FeedA {
					add(&c.FeedA, *m.LastMilli)
				} else if m.Feed == FeedB {
					add(&c.FeedB, *m.LastMilli)
				}
			case m.Quantity == QuantityTemperature:
				highest(&c.Temperature, *m.LastMilli)
			case m.Quantity == QuantityHumidity:
				highest(&c.Humidity, *m.LastMilli)
			}
		}
	}
	if err := s.cabinetAlerts(db, sc, orgID, cabinet, now, out, index); err != nil {
		return nil, err
	}
	return out, nil
}

// cabinetID is an organization's cabinet as a map key.
type cabinetID struct {
	org     int64
	cabinet string
}

// cabinetAlerts adds to cabinets their open alerts and those ended in the
// last CabinetAlertDays days; a customer's only since each meter was
// mapped to it.
func (s *Store) cabinetAlerts(db *gorm.DB, sc Scope, orgID int64, cabinet string, now time.Time, out []CabinetNow, index map[cabinetID]int) error {
	since := now.Add(-CabinetAlertDays * 24 * time.Hour)
	q := sc.apply(db.Table("facility_alerts a").Joins("JOIN facility_meters m ON m.id = a.meter_id").
		Where("a.org_id IS NOT NULL AND (a.ended_at IS NULL OR a.ended_at >= ?)", since), "a.org_id")
	if !sc.All() {
		q = q.Where("m.org_id = a.org_id AND m.mapped_since IS NOT NULL AND a.started_at >= m.mapped_since")
	}
	if orgID != 0 {
		q = q.Where("a.org_id = ?", orgID)
	}
	if cabinet != "" {
		q = q.Where("a.cabinet = ?", cabinet)
	}
	var alerts []CabinetAlert
	if err := q.Select("a.*, m.ref AS meter_ref, m.label AS meter_label, m.quantity, m.feed").
		Order("a.started_at DESC, a.id DESC").Scan(&alerts).Error; err != nil {
		return err
	}
	for _, a := range alerts {
		a.StartedAt, a.EndedAt = a.StartedAt.UTC(), utcPtr(a.EndedAt)
		i, ok := index[cabinetID{*a.OrgID, a.Cabinet}]
		if !ok {
			continue
		}
		c := &out[i]
		if a.EndedAt == nil {
			c.Open = append(c.Open, a)
		} else if len(c.Recent) < cabinetAlertsShown {
			c.Recent = append(c.Recent, a)
		}
	}
	return nil
}

// FacilityPoint is one step of a meter's series, in thousandths of its
// unit: how many readings, their lowest, highest and sum.
type FacilityPoint struct {
	Start    time.Time
	N        int
	Min, Max int64
	Sum      int64
}

// Avg is the step's mean.
func (p *FacilityPoint) Avg() int64 {
	if p.N == 0 {
		return 0
	}
	return p.Sum / int64(p.N)
}

func (p *FacilityPoint) add(n int, lo, hi, sum int64) {
	if n <= 0 {
		return
	}
	if p.N == 0 || lo < p.Min {
		p.Min = lo
	}
	if p.N == 0 || hi > p.Max {
		p.Max = hi
	}
	p.N += n
	p.Sum += sum
}

// MeterSeries is one meter's series.
type MeterSeries struct {
	Meter  CabinetMeter
	Points []FacilityPoint
}

// CabinetSeries is a cabinet's series over a range: the draw in total
// (each step the sum of its draw meters' means; Min and Max of a point
// are that sum too) and each meter's own.
type CabinetSeries struct {
	DrawQuantity string
	Draw         []FacilityPoint
	Meters       []MeterSeries
}

// Facility rollup periods (facility_rollups.period, facility_marks).
const (
	facilityHour = "h"
	facilityDay  = "d"
)

// CabinetSeriesOf is cabinet c's series over [from, to) in steps of step
// on the UTC grid of step, as TrafficSeries reads a port's: periods
// before the rollup marks from the stored hourly and daily rollups (a
// point's mean is their sum over their count), when step is made of
// whole hours or days, the rest from the readings. A customer reads each
// meter only since its MappedSince. c comes from GetCabinet with the
// same scope.
func (s *Store) CabinetSeriesOf(ctx context.Context, sc Scope, c *CabinetNow, from, to time.Time, step time.Duration) (*CabinetSeries, error) {
	if c == nil || !sc.Allows(c.OrgID) {
		return nil, wrap(ErrNotFound, "cabinet series")
	}
	if step <= 0 {
		return nil, wrap(errors.New("step must be positive"), "cabinet series")
	}
	utc(&from, &to)
	db := s.db.WithContext(ctx)
	var marks trafficMarks
	if step%time.Hour == 0 {
		var err error
		if marks, err = readFacilityMarks(db, false); err != nil {
			return nil, wrap(err, "cabinet series")
		}
	}
	out := &CabinetSeries{DrawQuantity: c.DrawQuantity}
	draw := map[int64]*FacilityPoint{}
	for _, m := range c.Meters {
		pts, err := meterSeries(db, sc, &m.FacilityMeter, marks, from, to, step)
		if err != nil {
			return nil, wrap(err, "cabinet series")
		}
		out.Meters = append(out.Meters, MeterSeries{Meter: m, Points: pts})
		if m.Quantity != c.DrawQuantity {
			continue
		}
		for _, p := range pts {
			d := draw[p.Start.Unix()]
			if d == nil {
				d = &FacilityPoint{Start: p.Start}
				draw[p.Start.Unix()] = d
			}
			avg := p.Avg()
			d.N++
			d.Sum += avg
		}
	}
	for _, d := range draw {
		// The total is one value a step: the sum of the meters' means.
		d.Min, d.Max = d.Sum, d.Sum
		d.Sum *= int64(d.N)
		out.Draw = append(out.Draw, *d)
	}
	slices.SortFunc(out.Draw, func(a, b FacilityPoint) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// meterSeries is meter m's points over [from, to) in steps of step.
func meterSeries(db *gorm.DB, sc Scope, m *FacilityMeter, marks trafficMarks, from, to time.Time, step time.Duration) ([]FacilityPoint, error) {
	cur := from.Truncate(step)
	lo := meterVisibleFrom(sc, m, from)
	if lo.After(from) {
		cur = lo.Truncate(step)
		if cur.Before(lo) {
			cur = cur.Add(step)
		}
	}
	points := map[int64]*FacilityPoint{}
	point := func(t time.Time) *FacilityPoint {
		start := t.UTC().Truncate(step)
		p := points[start.Unix()]
		if p == nil {
			p = &FacilityPoint{Start: start}
			points[start.Unix()] = p
		}
		return p
	}
	for _, period := range []string{facilityDay, facilityHour} {
		length := time.Hour
		if period == facilityDay {
			length = 24 * time.Hour
		}
		if step%length != 0 {
			continue
		}
		until := marks[period] // zero when not built
		if until.After(to) {
			until = to
		}
		if !cur.Before(until) {
			continue
		}
		var rs []FacilityRollup
		if err := db.Where("meter_id = ? AND period = ? AND start >= ? AND start < ?", m.ID, period, cur, until).
			Find(&rs).Error; err != nil {
			return nil, err
		}
		for i := range rs {
			point(rs[i].Start).add(rs[i].N, rs[i].MinMilli, rs[i].MaxMilli, rs[i].SumMilli)
		}
		cur = until
	}
	raw := func(a, b time.Time) error {
		if !a.Before(b) {
			return nil
		}
		var rs []FacilityReading
		if err := db.Where("meter_id = ? AND at >= ? AND at < ?", m.ID, a, b).Find(&rs).Error; err != nil {
			return err
		}
		for i := range rs {
			point(rs[i].At).add(1, rs[i].Milli, rs[i].Milli, rs[i].Milli)
		}
		return nil
	}
	if lo.After(from) {
		end := cur
		if to.Before(end) {
			end = to
		}
		if err := raw(lo, end); err != nil {
			return nil, err
		}
	}
	if err := raw(cur, to); err != nil {
		return nil, err
	}
	out := make([]FacilityPoint, 0, len(points))
	for _, p := range points {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b FacilityPoint) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// FacilityCSVDays bounds the period of one readings download.
const FacilityCSVDays = MaxResultsDays

// EachCabinetReading calls fn for each stored reading of cabinet c's
// meters in [from, to) (only meter's when it is not nil, which must be
// one of c's), oldest first, reading row by row; a customer's only since
// each meter was mapped to it.
func (s *Store) EachCabinetReading(ctx context.Context, sc Scope, c *CabinetNow, meter *FacilityMeter, from, to time.Time, fn func(*CabinetMeter, *FacilityReading) error) error {
	if c == nil || !sc.Allows(c.OrgID) {
		return wrap(ErrNotFound, "each cabinet reading")
	}
	utc(&from, &to)
	byID := map[int64]*CabinetMeter{}
	var ids []int64
	for i := range c.Meters {
		m := &c.Meters[i]
		if meter != nil && m.ID != meter.ID {
			continue
		}
		byID[m.ID] = m
		ids = append(ids, m.ID)
	}
	if meter != nil && len(ids) == 0 {
		return wrap(ErrNotFound, "each cabinet reading")
	}
	if len(ids) == 0 {
		return nil
	}
	db := s.db.WithContext(ctx)
	// A cabinet has a few meters: one IN list.
	q := db.Table("facility_readings r").Select("r.*").Where("r.meter_id IN ? AND r.at >= ? AND r.at < ?", ids, from, to)
	if !sc.All() {
		q = q.Joins("JOIN facility_meters m ON m.id = r.meter_id").Where("m.mapped_since IS NOT NULL AND r.at >= m.mapped_since")
	}
	rows, err := q.Order("r.at, r.meter_id").Rows()
	if err != nil {
		return wrap(err, "each cabinet reading")
	}
	defer rows.Close()
	for rows.Next() {
		var r FacilityReading
		if err := db.ScanRows(rows, &r); err != nil {
			return wrap(err, "each cabinet reading")
		}
		r.At = r.At.UTC()
		if err := fn(byID[r.MeterID], &r); err != nil {
			return wrap(err, "each cabinet reading")
		}
	}
	return wrap(rows.Err(), "each cabinet reading")
}

// CabinetChoices lists the organizations that sc sees with cabinets that
// have meters, for the staff's filter.
func (s *Store) CabinetChoices(ctx context.Context, sc Scope) ([]TrafficChoice, error) {
	var out []TrafficChoice
	err := sc.apply(s.db.WithContext(ctx).Table("organizations o"), "o.id").Select("o.id, o.name").
		Where("EXISTS (SELECT 1 FROM facility_meters m WHERE m.org_id = o.id AND m.cabinet <> '')").
		Order("o.name, o.id").Scan(&out).Error
	return out, wrap(err, "cabinet choices")
}

// AlertingCabinets lists organization orgID's cabinets with a threshold
// crossed now (for its home): one statement when there is none.
func (s *Store) AlertingCabinets(ctx context.Context, sc Scope, orgID int64) ([]CabinetNow, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "alerting cabinets")
	}
	q := s.db.WithContext(ctx).Table("facility_alerts a").Joins("JOIN facility_meters m ON m.id = a.meter_id").
		Where("a.org_id = ? AND a.ended_at IS NULL AND m.org_id = a.org_id", orgID)
	if !sc.All() {
		q = q.Where("m.mapped_since IS NOT NULL AND a.started_at >= m.mapped_since")
	}
	var n []int64
	if err := q.Limit(1).Pluck("a.id", &n).Error; err != nil || len(n) == 0 {
		return nil, wrap(err, "alerting cabinets")
	}
	cabs, err := s.cabinets(ctx, sc, orgID, "")
	if err != nil {
		return nil, wrap(err, "alerting cabinets")
	}
	out := cabs[:0]
	for _, c := range cabs {
		if c.Alerting() {
			out = append(out, c)
		}
	}
	return out, nil
}
