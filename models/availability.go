package models

import (
	"context"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Span is a stretch of downtime with its cause. A nil End is still open.
type Span struct {
	Start time.Time
	End   *time.Time
	Cause Cause
	// OutageID is the outage the span is part of (0 for downtime that is
	// not an outage, a power incident's): the statement links it.
	OutageID int64
}

// Availability of something over a period, from its outages.
type Availability struct {
	Total time.Duration // the part of the period that has passed
	Down  time.Duration // any downtime, overlaps counted once
	// Counted is the downtime that counts against the provider: not caused
	// by the customer, agreed maintenance, authorized operations or force
	// majeure.
	Counted time.Duration
}

// Percent is the availability the agreement measures: the share of the
// period not lost to downtime that counts. A period with nothing elapsed
// is 100%.
func (a Availability) Percent() float64 {
	if a.Total <= 0 {
		return 100
	}
	return 100 * float64(a.Total-a.Counted) / float64(a.Total)
}

// RawPercent is the share of the period with no downtime of any cause.
func (a Availability) RawPercent() float64 {
	if a.Total <= 0 {
		return 100
	}
	return 100 * float64(a.Total-a.Down) / float64(a.Total)
}

// Minutes returns total, down and counted minutes.
func (a Availability) Minutes() (total, down, counted float64) {
	return a.Total.Minutes(), a.Down.Minutes(), a.Counted.Minutes()
}

// ComputeAvailability is the one measure of availability: every page,
// PDF and Store method gets its figures from here. It measures the window
// [max(from, since), min(to, now)): since is when the thing measured began
// to be watched (a device's creation; zero for no such bound), so a device
// added mid-period is measured over the part it was watched, prorated, and
// is neither credited nor charged for the rest; the future is not measured
// yet. Spans may overlap (two checks of one device down at once count
// once); a span still open runs until now. Downtime counts against the
// provider only where its cause does (Cause.CountsAgainstProvider); an
// outage with cause spans arrives here already split (SplitOutage). An
// empty window is 100%.
func ComputeAvailability(from, to, since, now time.Time, spans []Span) Availability {
	if from.Before(since) {
		from = since
	}
	end := to
	if now.Before(end) {
		end = now
	}
	if !end.After(from) {
		return Availability{}
	}
	var all, counted []interval
	for _, s := range spans {
		e := end
		if s.End != nil && s.End.Before(e) {
			e = *s.End
		}
		st := s.Start
		if st.Before(from) {
			st = from
		}
		if !e.After(st) {
			continue
		}
		all = append(all, interval{st, e})
		if s.Cause.CountsAgainstProvider() {
			counted = append(counted, interval{st, e})
		}
	}
	return Availability{Total: end.Sub(from), Down: unionLength(all), Counted: unionLength(counted)}
}

type interval struct{ start, end time.Time }

// unionLength is the length covered by the intervals, overlaps once.
func unionLength(iv []interval) time.Duration {
	if len(iv) == 0 {
		return 0 // most days of most devices: no sort, no allocation
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i].start.Before(iv[j].start) })
	var total time.Duration
	var cur *interval
	for i := range iv {
		switch {
		case cur == nil:
			c := iv[i]
			cur = &c
		case !iv[i].start.After(cur.end):
			if iv[i].end.After(cur.end) {
				cur.end = iv[i].end
			}
		default:
			total += cur.end.Sub(cur.start)
			c := iv[i]
			cur = &c
		}
	}
	if cur != nil {
		total += cur.end.Sub(cur.start)
	}
	return total
}

// OutageSpans loads the outages of organization orgID that overlap
// [from, to), for the devices given (all of the organization's when nil),
// as spans keyed by device: each outage split by its cause spans
// (SplitOutage) and by the maintenance windows the organization agreed to
// (agreedMaintenanceSegments), in two queries, and one or two more when
// there are outages.
func (s *Store) OutageSpans(ctx context.Context, sc Scope, orgID int64, deviceIDs []int64, from, to time.Time) (map[int64][]Span, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "outage spans")
	}
	out, err := s.outageSpans(s.db.WithContext(ctx), orgID, deviceIDs, from, to)
	if err != nil {
		return nil, wrap(err, "outage spans")
	}
	return out, nil
}

// outageSpans is OutageSpans read through db (a transaction when closing
// a month).
func (s *Store) outageSpans(db *gorm.DB, orgID int64, deviceIDs []int64, from, to time.Time) (map[int64][]Span, error) {
	utc(&from, &to)
	q := func(q *gorm.DB) *gorm.DB {
		return q.Where("org_id = ? AND started_at < ? AND (ended_at IS NULL OR ended_at > ?)", orgID, to, from)
	}
	var os []Outage
	var err error
	if deviceIDs != nil {
		err = findIn(db, deviceIDs, &os, func(db *gorm.DB, chunk []int64) *gorm.DB { return q(db).Where("device_id IN ?", chunk) })
	} else {
		err = q(db).Find(&os).Error
	}
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	parts, err := causeSpansOf(db, orgID, ids)
	if err != nil {
		return nil, err
	}
	var aw *agreedWindows
	if len(os) > 0 {
		if aw, err = agreedWindowsOf(db, orgID, from, to); err != nil {
			return nil, err
		}
	}
	now := s.now()
	out := map[int64][]Span{}
	for _, o := range os {
		for _, g := range agreedMaintenanceSegments(OutageSegments(o, parts[o.ID]), o.DeviceID, aw, now) {
			out[o.DeviceID] = append(out[o.DeviceID], g.Span)
		}
	}
	return out, nil
}

// DeviceAvailability is the availability of one device of orgID over
// [from, to), measured from the device's creation (ComputeAvailability).
// Another organization's device is ErrNotFound.
func (s *Store) DeviceAvailability(ctx context.Context, sc Scope, orgID, deviceID int64, from, to time.Time) (Availability, error) {
	if !sc.Allows(orgID) {
		return Availability{}, wrap(ErrNotFound, "device availability")
	}
	d, err := s.GetDevice(ctx, OrgScope(orgID), deviceID)
	if err != nil {
		return Availability{}, wrap(err, "device availability")
	}
	spans, err := s.OutageSpans(ctx, sc, orgID, []int64{deviceID}, from, to)
	if err != nil {
		return Availability{}, wrap(err, "device availability")
	}
	return ComputeAvailability(from, to, MonitoredSince(*d), s.now(), spans[deviceID]), nil
}

// MonitoredSince is when a device began to count: its creation in the
// portal, when its checks were created with it. Availability is measured
// from then on only.
func MonitoredSince(d Device) time.Time { return d.CreatedAt }
