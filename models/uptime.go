package models

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// DeviceState is a device's state from its checks: down when any enabled
// check is down, up when every enabled check is up, unknown otherwise (no
// enabled check, or one not probed yet).
func DeviceState(checks []Check) string {
	state, enabled := StatusUp, 0
	for _, c := range checks {
		if !c.Enabled {
			continue
		}
		enabled++
		switch c.Status {
		case StatusDown:
			return StatusDown
		case StatusUp:
		default:
			state = StatusUnknown
		}
	}
	if enabled == 0 {
		return StatusUnknown
	}
	return state
}

// stateRank orders states problems first.
func stateRank(state string) int {
	switch state {
	case StatusDown:
		return 0
	case StatusUnknown:
		return 1
	}
	return 2
}

// Uptime periods, in the order the pages show them.
const (
	Period24h   = "24h"
	Period30d   = "30d"
	PeriodMonth = "month"
	Period90d   = "90d"
)

// UptimeDays is the length of the bar of days.
const UptimeDays = 90

// PeriodAvailability is the availability of a device over one named period.
type PeriodAvailability struct {
	Period   string
	From, To time.Time
	Availability
}

// DayAvailability is one day of the bar of days. NoData marks a day before
// the device was watched.
type DayAvailability struct {
	Day time.Time // midnight in the location the days were cut in
	Availability
	NoData bool
}

// DeviceUptime is what the uptime pages show of one device.
type DeviceUptime struct {
	Device  Device
	Checks  []Check
	State   string
	Periods []PeriodAvailability // 24h, 30d, this month, 90d
	Days    []DayAvailability    // the last UptimeDays days, oldest first
}

// startOfDay is midnight of t's day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// uptimeFrom is the earliest instant the uptime pages need outages from.
func uptimeFrom(now time.Time, loc *time.Location) time.Time {
	from := now.Add(-UptimeDays * 24 * time.Hour)
	if first := startOfDay(now, loc).AddDate(0, 0, -(UptimeDays - 1)); first.Before(from) {
		from = first
	}
	return from
}

// ComputeUptime measures a device from the spans of its outages. Periods
// and days are cut in loc (the calendar month is the agreement's month in
// the data center's time zone); nothing before the device was created
// counts, so a new device is not credited with days nobody watched.
func ComputeUptime(d Device, checks []Check, spans []Span, now time.Time, loc *time.Location) DeviceUptime {
	if loc == nil {
		loc = time.UTC
	}
	since := MonitoredSince(d)
	month := startOfDay(now, loc)
	month = month.AddDate(0, 0, 1-month.Day())
	u := DeviceUptime{Device: d, Checks: checks, State: DeviceState(checks)}
	for _, p := range []PeriodAvailability{
		{Period: Period24h, From: now.Add(-24 * time.Hour), To: now},
		{Period: Period30d, From: now.Add(-30 * 24 * time.Hour), To: now},
		{Period: PeriodMonth, From: month, To: month.AddDate(0, 1, 0)},
		{Period: Period90d, From: now.Add(-UptimeDays * 24 * time.Hour), To: now},
	} {
		p.Availability = ComputeAvailability(p.From, p.To, since, now, spans)
		u.Periods = append(u.Periods, p)
	}
	u.Days = DailyAvailability(startOfDay(now, loc).AddDate(0, 0, -(UptimeDays-1)), UptimeDays, since, now, spans)
	return u
}

// DailyAvailability measures days consecutive days from first (a midnight;
// days follow the calendar of first's location, so a day may be 23 or 25
// hours long). A day that ended before since has no data; the day of since
// counts from since.
func DailyAvailability(first time.Time, days int, since, now time.Time, spans []Span) []DayAvailability {
	sorted := append([]Span(nil), spans...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start.Before(sorted[j].Start) })
	out := make([]DayAvailability, days)
	for i := range out {
		start, end := first.AddDate(0, 0, i), first.AddDate(0, 0, i+1)
		out[i].Day = start
		if !end.After(since) || !now.After(start) {
			out[i].NoData = true
			continue
		}
		// Only spans that start before the day ends can touch it.
		n := sort.Search(len(sorted), func(k int) bool { return !sorted[k].Start.Before(end) })
		out[i].Availability = ComputeAvailability(start, end, since, now, sorted[:n])
	}
	return out
}

// OrgUptime measures every device of organization orgID for the uptime
// page, in four queries: devices, checks, the outages of 90 days, and
// their cause spans.
func (s *Store) OrgUptime(ctx context.Context, sc Scope, orgID int64, loc *time.Location) ([]DeviceUptime, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "org uptime")
	}
	if loc == nil {
		loc = time.UTC
	}
	now := s.now()
	devices, err := s.ListDevices(ctx, sc, orgID)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of org %d: %w", orgID, err)
	}
	if len(devices) == 0 {
		return nil, nil
	}
	checks, err := s.ListOrgChecks(ctx, sc, orgID)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of org %d: %w", orgID, err)
	}
	spans, err := s.OutageSpans(ctx, sc, orgID, nil, uptimeFrom(now, loc), now)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of org %d: %w", orgID, err)
	}
	byDevice := map[int64][]Check{}
	for _, c := range checks {
		byDevice[c.DeviceID] = append(byDevice[c.DeviceID], c)
	}
	out := make([]DeviceUptime, len(devices))
	for i, d := range devices {
		out[i] = ComputeUptime(d, byDevice[d.ID], spans[d.ID], now, loc)
	}
	return out, nil
}

// GetDeviceUptime measures one device of organization orgID; another
// organization's device is ErrNotFound.
func (s *Store) GetDeviceUptime(ctx context.Context, sc Scope, orgID, deviceID int64, loc *time.Location) (*DeviceUptime, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "get device uptime")
	}
	if loc == nil {
		loc = time.UTC
	}
	now := s.now()
	d, err := s.GetDevice(ctx, OrgScope(orgID), deviceID)
	if err != nil {
		return nil, wrap(err, "get device uptime")
	}
	checks, err := s.ListChecks(ctx, sc, orgID, deviceID)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of device %d: %w", deviceID, err)
	}
	spans, err := s.OutageSpans(ctx, sc, orgID, []int64{deviceID}, uptimeFrom(now, loc), now)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of device %d: %w", deviceID, err)
	}
	u := ComputeUptime(*d, checks, spans[deviceID], now, loc)
	return &u, nil
}

// FleetDevice is one line of the staff fleet page.
type FleetDevice struct {
	Device
	OrgName    string
	State      string
	Checks     int        // enabled checks
	ChecksDown int        // enabled checks that are down
	LastAt     *time.Time // the latest probe of any check
}

// ListFleet lists the devices of every organization that sc sees,
// problems first: down, then unknown, then up; then by organization and
// name. Two queries, and one per idChunk checks for their last results.
func (s *Store) ListFleet(ctx context.Context, sc Scope) ([]FleetDevice, error) {
	db := s.db.WithContext(ctx)
	var out []FleetDevice
	if err := sc.apply(db.Model(&Device{}), "org_id").Select("devices.*, organizations.name AS org_name").
		Joins("JOIN organizations ON organizations.id = devices.org_id").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("models: fleet: %w", err)
	}
	var checks []Check
	if err := sc.apply(db, "org_id").Select("id", "device_id", "enabled", "status", "last_at").Find(&checks).Error; err != nil {
		return nil, fmt.Errorf("models: fleet: %w", err)
	}
	if err := s.fillLatest(db, checks); err != nil {
		return nil, fmt.Errorf("models: fleet: %w", err)
	}
	byDevice := map[int64][]Check{}
	for _, c := range checks {
		byDevice[c.DeviceID] = append(byDevice[c.DeviceID], c)
	}
	for i := range out {
		f := &out[i]
		cs := byDevice[f.ID]
		f.State = DeviceState(cs)
		for _, c := range cs {
			if c.LastAt != nil && (f.LastAt == nil || c.LastAt.After(*f.LastAt)) {
				at := *c.LastAt
				f.LastAt = &at
			}
			if !c.Enabled {
				continue
			}
			f.Checks++
			if c.Status == StatusDown {
				f.ChecksDown++
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if ra, rb := stateRank(a.State), stateRank(b.State); ra != rb {
			return ra < rb
		}
		if a.OrgName != b.OrgName {
			return a.OrgName < b.OrgName
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	return out, nil
}
