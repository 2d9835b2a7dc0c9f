package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// The rule of agreed maintenance (docs/agreement.md §1): downtime of a
// device inside a window its organization agreed to, and that was not
// cancelled, has the cause customer_maintenance for the part inside,
// where its cause there would otherwise count against the provider.
// Customer causes and force majeure stay as they are; a window declined
// or left unanswered changes nothing. Applied where outages become spans
// (Store.OutageSpans: the uptime pages, the device page's figures, the
// availability methods, the statements) and where they become the
// segments the outage page shows (Store.OutageSegmentsOf), by one
// function: agreedMaintenanceSegments.

// MaintenanceRef names the agreed window a segment's cause comes from.
type MaintenanceRef struct {
	ID       int64
	Number   string // MW-2026-0001
	Ref      string // for the link to its page
	StartsAt time.Time
	EndsAt   time.Time
}

// agreedWindow is a window an organization agreed to, with what of the
// organization it touches.
type agreedWindow struct {
	MaintenanceRef
	whole    bool            // a target names the whole organization
	devices  map[int64]bool  // devices named
	cabinets map[string]bool // cabinets named
}

// touches reports whether the window touches device deviceID in cabinet.
func (w *agreedWindow) touches(deviceID int64, cabinet string) bool {
	return w.whole || w.devices[deviceID] || (cabinet != "" && w.cabinets[cabinet])
}

// agreedWindows are one organization's agreed windows over a period, with
// the cabinets of its devices the windows name cabinets of.
type agreedWindows struct {
	windows   []agreedWindow // by start
	cabinetOf map[int64]string
}

// for returns the windows touching device deviceID, by start.
func (a *agreedWindows) forDevice(deviceID int64) []agreedWindow {
	if a == nil {
		return nil
	}
	var out []agreedWindow
	for _, w := range a.windows {
		if w.touches(deviceID, a.cabinetOf[deviceID]) {
			out = append(out, w)
		}
	}
	return out
}

// agreedWindowsOf reads the windows organization orgID agreed to, not
// cancelled, that overlap [from, to): one query for the windows (bounded
// by the start index: a window is at most MaintenanceMaxLength long), and
// only when there are some, one for their targets of orgID with the
// devices of the cabinets they name.
func agreedWindowsOf(db *gorm.DB, orgID int64, from, to time.Time) (*agreedWindows, error) {
	utc(&from, &to)
	var ws []MaintenanceWindow
	err := db.Table("maintenance_windows").Select("maintenance_windows.*").
		Joins("JOIN maintenance_answers a ON a.window_id = maintenance_windows.id AND a.org_id = ? AND a.answer = ?", orgID, MaintenanceAgreed).
		Where("maintenance_windows.cancelled_at IS NULL AND maintenance_windows.starts_at < ? AND maintenance_windows.starts_at > ? AND maintenance_windows.ends_at > ?",
			to, from.Add(-MaintenanceMaxLength-time.Second), from).
		Order("maintenance_windows.starts_at, maintenance_windows.id").Find(&ws).Error
	if err != nil || len(ws) == 0 {
		return nil, err
	}
	out := &agreedWindows{cabinetOf: map[int64]string{}}
	idx := map[int64]int{}
	ids := make([]int64, len(ws))
	for i, w := range ws {
		ids[i], idx[w.ID] = w.ID, i
		out.windows = append(out.windows, agreedWindow{MaintenanceRef: MaintenanceRef{ID: w.ID, Number: w.Number(), Ref: w.Ref,
			StartsAt: w.StartsAt, EndsAt: w.EndsAt}, devices: map[int64]bool{}, cabinets: map[string]bool{}})
	}
	type targetRow struct {
		WindowID   int64
		DeviceID   *int64
		Cabinet    string
		CabDevice  *int64
		CabCabinet *string
	}
	var rows []targetRow
	if err := findIn(db, ids, &rows, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Table("maintenance_targets t").
			Select("t.window_id, t.device_id, t.cabinet, d.id AS cab_device, d.cabinet AS cab_cabinet").
			Joins("LEFT JOIN devices d ON t.cabinet <> '' AND d.org_id = t.org_id AND d.cabinet = t.cabinet").
			Where("t.org_id = ? AND t.window_id IN ?", orgID, chunk)
	}); err != nil {
		return nil, err
	}
	for _, r := range rows {
		w := &out.windows[idx[r.WindowID]]
		switch {
		case r.DeviceID != nil:
			w.devices[*r.DeviceID] = true
		case r.Cabinet != "":
			w.cabinets[r.Cabinet] = true
			if r.CabDevice != nil && r.CabCabinet != nil {
				out.cabinetOf[*r.CabDevice] = *r.CabCabinet
			}
		default:
			w.whole = true
		}
	}
	return out, nil
}

// agreedMaintenanceSegments applies the rule of agreed maintenance to the
// segments of one outage of device deviceID (OutageSegments, in time
// order), given the windows its organization agreed to: the part of a
// segment whose cause counts against the provider that lies inside a
// window touching the device becomes a segment of its own with the cause
// customer_maintenance and the window (Window); the rest keeps its cause.
// Segments whose cause does not count stay as they are. An open segment
// is cut only by windows already started at now; its part inside a window
// still running stays open.
func agreedMaintenanceSegments(segs []OutageSegment, deviceID int64, aw *agreedWindows, now time.Time) []OutageSegment {
	ws := aw.forDevice(deviceID)
	if len(ws) == 0 {
		return segs
	}
	var out []OutageSegment
	for _, g := range segs {
		if !g.Counts() {
			out = append(out, g)
			continue
		}
		piece := func(from time.Time, to *time.Time, w *agreedWindow) {
			p := g
			p.Start, p.End = from, to
			if w != nil {
				ref := w.MaintenanceRef
				p.Cause, p.Window = CauseCustomerMaintenance, &ref
			}
			out = append(out, p)
		}
		cur, open := g.Start, true // open: the rest of g from cur is still to place
		for i := range ws {
			w := &ws[i]
			st, en := w.StartsAt, w.EndsAt
			if st.Before(cur) {
				st = cur
			}
			if g.End != nil && en.After(*g.End) {
				en = *g.End
			}
			if !en.After(st) || (g.End == nil && !st.Before(now)) {
				continue
			}
			if st.After(cur) {
				e := st
				piece(cur, &e, nil)
			}
			if g.End == nil && en.After(now) {
				piece(st, nil, w) // the outage goes on inside a running window
				open = false
				break
			}
			e := en
			piece(st, &e, w)
			cur = en
		}
		if open && (g.End == nil || g.End.After(cur)) {
			piece(cur, g.End, nil)
		}
	}
	return out
}

// outageSegments splits outages of orgID by their cause spans and the
// windows the organization agreed to, by outage.
func (s *Store) outageSegments(db *gorm.DB, orgID int64, os []Outage, now time.Time) (map[int64][]OutageSegment, error) {
	out := map[int64][]OutageSegment{}
	if len(os) == 0 {
		return out, nil
	}
	ids := make([]int64, len(os))
	from, to := os[0].StartedAt, now
	for i, o := range os {
		ids[i] = o.ID
		if o.StartedAt.Before(from) {
			from = o.StartedAt
		}
		if o.EndedAt != nil && o.EndedAt.After(to) {
			to = *o.EndedAt
		}
	}
	parts, err := causeSpansOf(db, orgID, ids)
	if err != nil {
		return nil, err
	}
	aw, err := agreedWindowsOf(db, orgID, from, to.Add(time.Second))
	if err != nil {
		return nil, err
	}
	for _, o := range os {
		out[o.ID] = agreedMaintenanceSegments(OutageSegments(o, parts[o.ID]), o.DeviceID, aw, now)
	}
	return out, nil
}

// OutageSegmentsOf splits the given outages of organization orgID into
// the segments the pages show (the outage page, the device page's
// outages): by their cause spans and by the maintenance windows the
// organization agreed to, in time order, keyed by outage. Outages of
// another organization are left out.
func (s *Store) OutageSegmentsOf(ctx context.Context, sc Scope, orgID int64, os []Outage) (map[int64][]OutageSegment, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "outage segments")
	}
	var own []Outage
	for _, o := range os {
		if o.OrgID == orgID {
			own = append(own, o)
		}
	}
	m, err := s.outageSegments(s.db.WithContext(ctx), orgID, own, s.now())
	return m, wrap(err, "outage segments")
}
