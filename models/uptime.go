package models

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
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
	return computeUptime(d, checks, spans, now, loc, nil)
}

// uptimeDayBounds are the UptimeDays+1 midnights that cut the bar's days
// at now in loc.
func uptimeDayBounds(now time.Time, loc *time.Location) []time.Time {
	return dayBounds(startOfDay(now, loc).AddDate(0, 0, -(UptimeDays-1)), UptimeDays)
}

// noDays, as computeUptime's bounds, leaves out the bar of days.
var noDays = []time.Time{}

// computeUptime is ComputeUptime with the bar's day bounds
// (uptimeDayBounds) cut once for a whole page of devices; nil cuts them,
// noDays leaves the bar out.
func computeUptime(d Device, checks []Check, spans []Span, now time.Time, loc *time.Location, bounds []time.Time) DeviceUptime {
	if loc == nil {
		loc = time.UTC
	}
	if bounds == nil {
		bounds = uptimeDayBounds(now, loc)
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
	if len(bounds) > 0 {
		u.Days = dailyAvailability(bounds, since, now, spans)
	}
	return u
}

// dayBounds are the days+1 midnights from first, following the calendar
// of first's location.
func dayBounds(first time.Time, days int) []time.Time {
	b := make([]time.Time, days+1)
	for i := range b {
		b[i] = first.AddDate(0, 0, i)
	}
	return b
}

// DailyAvailability measures days consecutive days from first (a midnight;
// days follow the calendar of first's location, so a day may be 23 or 25
// hours long). A day that ended before since has no data; the day of since
// counts from since.
func DailyAvailability(first time.Time, days int, since, now time.Time, spans []Span) []DayAvailability {
	return dailyAvailability(dayBounds(first, days), since, now, spans)
}

// dailyAvailability is DailyAvailability of the days between bounds (the
// uptime page cuts them once for its hundred devices: AddDate is costly).
func dailyAvailability(bounds []time.Time, since, now time.Time, spans []Span) []DayAvailability {
	sorted := append([]Span(nil), spans...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start.Before(sorted[j].Start) })
	out := make([]DayAvailability, len(bounds)-1)
	for i := range out {
		start, end := bounds[i], bounds[i+1]
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

// UptimePage is one page of an organization's devices on the uptime page.
type UptimePage struct {
	// Only what the page shows is read: a device without its Notes and
	// UpdatedAt, its Checks with only ID, DeviceID, OrgID, Kind, Enabled
	// and Status (the device's state).
	Devices     []DeviceUptime
	Counts      FleetCounts // every device of the organization, by state
	Page, Pages int         // Pages is at least 1
}

// OrgUptimeList measures one page of q.PageSize devices of
// organization orgID that q's search (a device's name or address, or a
// check's target), cabinet, tag and state match, problems first (down,
// unknown, up; then by name, as the fleet), with the counts by state of
// those the search, cabinet and tag match. q.OrgID is orgID. Without the
// bar of days (the device page has it): at most six queries, whatever
// the size of the organization.
func (s *Store) OrgUptimeList(ctx context.Context, sc Scope, orgID int64, q FleetQuery, loc *time.Location) (*UptimePage, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "org uptime")
	}
	if loc == nil {
		loc = time.UTC
	}
	now := s.now()
	q.OrgID = orgID
	f, err := s.fleetSelect(ctx, sc, q)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of org %d: %w", orgID, err)
	}
	p := &UptimePage{Counts: f.Counts, Page: f.Page, Pages: f.Pages}
	if len(f.Devices) == 0 {
		return p, nil
	}
	ids := make([]int64, len(f.Devices))
	for i, d := range f.Devices {
		ids[i] = d.ID
	}
	var checks []Check
	// At most FleetPageSize IDs: one page.
	// Only what the page shows of them (DeviceState): scanning every
	// column of a hundred checks was a fifth of the page's time.
	if err := s.db.WithContext(ctx).Select("id, device_id, org_id, kind, enabled, status").
		Where("org_id = ? AND device_id IN ?", orgID, ids).Order("device_id, id").Find(&checks).Error; err != nil {
		return nil, fmt.Errorf("models: uptime of org %d: %w", orgID, err)
	}
	spans, err := s.OutageSpans(ctx, sc, orgID, ids, uptimeFrom(now, loc), now)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of org %d: %w", orgID, err)
	}
	byDevice := map[int64][]Check{}
	for _, c := range checks {
		byDevice[c.DeviceID] = append(byDevice[c.DeviceID], c)
	}
	p.Devices = make([]DeviceUptime, len(f.Devices))
	for i, d := range f.Devices {
		p.Devices[i] = computeUptime(d.Device, byDevice[d.ID], spans[d.ID], now, loc, noDays)
	}
	return p, nil
}

// OrgDeviceCounts counts the devices of organization orgID by state, in
// one query (the organization's staff page links them to its uptime
// page instead of listing them).
func (s *Store) OrgDeviceCounts(ctx context.Context, sc Scope, orgID int64) (FleetCounts, error) {
	if !sc.Allows(orgID) {
		return FleetCounts{}, wrap(ErrNotFound, "org device counts")
	}
	return s.fleetCounts(ctx, sc, FleetQuery{OrgID: orgID})
}

// GetDeviceUptime measures one device of organization orgID; another
// organization's device is ErrNotFound.
func (s *Store) GetDeviceUptime(ctx context.Context, sc Scope, orgID, deviceID int64, loc *time.Location) (*DeviceUptime, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "get device uptime")
	}
	d, err := s.GetDevice(ctx, OrgScope(orgID), deviceID)
	if err != nil {
		return nil, wrap(err, "get device uptime")
	}
	return s.DeviceUptimeOf(ctx, sc, d, loc)
}

// DeviceUptimeOf measures device d, already read through a scoped
// GetDevice (the device page has it): two queries, its checks and its
// outages. A device outside sc is ErrNotFound.
func (s *Store) DeviceUptimeOf(ctx context.Context, sc Scope, d *Device, loc *time.Location) (*DeviceUptime, error) {
	if !sc.Allows(d.OrgID) {
		return nil, wrap(ErrNotFound, "get device uptime")
	}
	if loc == nil {
		loc = time.UTC
	}
	now := s.now()
	checks, err := s.ListChecks(ctx, sc, d.OrgID, d.ID)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of device %d: %w", d.ID, err)
	}
	spans, err := s.OutageSpans(ctx, sc, d.OrgID, []int64{d.ID}, uptimeFrom(now, loc), now)
	if err != nil {
		return nil, fmt.Errorf("models: uptime of device %d: %w", d.ID, err)
	}
	u := ComputeUptime(*d, checks, spans[d.ID], now, loc)
	return &u, nil
}

// FleetDevice is one line of the staff fleet page.
type FleetDevice struct {
	Device
	TagList    string // Device.Tags as the query joined them
	OrgName    string
	State      string
	Checks     int        // enabled checks
	ChecksDown int        // enabled checks that are down
	LastAt     *time.Time // the latest probe of any check
}

// FleetPageSize is how many devices one page of the fleet shows.
const FleetPageSize = 100

// FleetQuery narrows and pages the fleet: every field is optional.
type FleetQuery struct {
	// Search is part of a device's name or address, of one of its
	// checks' targets, or of its organization's name (case-insensitive
	// for Latin letters).
	Search string
	State  string // StatusDown, StatusUnknown or StatusUp; "" for any
	OrgID  int64  // one organization; 0 for every one sc sees
	// Cabinet is a device's cabinet, exactly; Tag one of its tags (any
	// case). Across organizations a tag is matched by name.
	Cabinet, Tag string
	Page         int // from 1; past the last page is the last page
	// PageSize is how many devices a page holds: FleetPageSize when 0
	// or more.
	PageSize int
}

// size is the number of devices on one of q's pages.
func (q FleetQuery) size() int {
	if q.PageSize <= 0 || q.PageSize > FleetPageSize {
		return FleetPageSize
	}
	return q.PageSize
}

// FleetCounts counts devices by state.
type FleetCounts struct{ Down, Unknown, Up int }

// Total is every device counted.
func (c FleetCounts) Total() int { return c.Down + c.Unknown + c.Up }

// Of is the count of one state; "" is the total.
func (c FleetCounts) Of(state string) int {
	switch state {
	case StatusDown:
		return c.Down
	case StatusUnknown:
		return c.Unknown
	case StatusUp:
		return c.Up
	}
	return c.Total()
}

// Fleet is one page of the fleet.
type Fleet struct {
	Devices []FleetDevice
	// Counts are the devices that the search and the organization match,
	// whatever their state; the state filter picks one of them.
	Counts      FleetCounts
	Page, Pages int // Pages is at least 1
}

// The fleet's states in SQL, as DeviceState decides them, for a device
// d: down when an enabled check is down; unknown when none is enabled or
// one is neither up nor down; else up. Each is answered from the index
// idx_checks_device_state alone; "not up" is two ranges so that the index
// idx_checks_state_device finds the few checks that are not up.
const (
	fleetEnabled = "EXISTS (SELECT 1 FROM checks c WHERE c.device_id = d.id AND c.enabled = ?)"
	fleetNotUp   = "(status < ? OR status > ?)"
)

// fleetBands are the three bands of the fleet's order.
var fleetBands = []string{StatusDown, StatusUnknown, StatusUp}

// likeEscape escapes the wildcards of a LIKE pattern with '!'.
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// fleetDevices is the devices d (joined with their organization o) that
// sc sees and q's search and organization match.
func (s *Store) fleetDevices(ctx context.Context, sc Scope, q FleetQuery) *gorm.DB {
	db := sc.apply(s.db.WithContext(ctx).Table("devices AS d"), "d.org_id").
		Joins("JOIN organizations o ON o.id = d.org_id")
	if q.OrgID != 0 {
		db = db.Where("d.org_id = ?", q.OrgID)
	}
	if q.Cabinet != "" {
		db = db.Where("d.cabinet = ?", q.Cabinet)
	}
	if tag := strings.ToLower(strings.TrimSpace(q.Tag)); tag != "" {
		if q.OrgID != 0 {
			db = db.Where("d.id IN (SELECT device_id FROM device_tags WHERE org_id = ? AND tag = ?)", q.OrgID, tag)
		} else {
			db = db.Where("d.id IN (SELECT device_id FROM device_tags WHERE tag = ?)", tag)
		}
	}
	if term := strings.TrimSpace(q.Search); term != "" {
		// LOWER on both sides: MySQL's tables compare text as bytes
		// (utf8mb4_bin), as SQLite does; LIKE would differ between them.
		// The organization's name only across organizations: within
		// one it would match every device.
		like := "%" + likeEscape(strings.ToLower(term)) + "%"
		org, args := "", []any{like, like}
		if q.OrgID == 0 {
			org, args = "OR LOWER(o.name) LIKE ? ESCAPE '!' ", append(args, like)
		}
		db = db.Where("LOWER(d.name) LIKE ? ESCAPE '!' OR LOWER(d.address) LIKE ? ESCAPE '!' "+org+
			"OR d.id IN (SELECT device_id FROM checks WHERE LOWER(target) LIKE ? ESCAPE '!')", append(args, like)...)
	}
	return db
}

// notUpChecks is the device IDs and states of the enabled checks that
// are not up.
func (s *Store) notUpChecks(ctx context.Context, status string) *gorm.DB {
	q := s.db.WithContext(ctx).Table("checks").Select("device_id").Where("enabled = ? AND "+fleetNotUp, true, StatusUp, StatusUp)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	return q
}

// inBand narrows fleetDevices to one band of states.
func (s *Store) inBand(ctx context.Context, db *gorm.DB, band string) *gorm.DB {
	switch band {
	case StatusDown:
		return db.Where("d.id IN (?)", s.notUpChecks(ctx, StatusDown))
	case StatusUnknown:
		return db.Where("d.id NOT IN (?)", s.notUpChecks(ctx, StatusDown)).
			Where("d.id IN (?) OR NOT "+fleetEnabled, s.notUpChecks(ctx, ""), true)
	}
	return db.Where(fleetEnabled, true).Where("d.id NOT IN (?)", s.notUpChecks(ctx, ""))
}

// fleetCounts counts the devices that sc sees and q's search and
// organization match, by state, in one query.
func (s *Store) fleetCounts(ctx context.Context, sc Scope, q FleetQuery) (FleetCounts, error) {
	var n struct{ NAll, NDown, NUnknown int }
	down, notUp := s.notUpChecks(ctx, StatusDown), s.notUpChecks(ctx, "")
	if err := s.fleetDevices(ctx, sc, q).Select("COUNT(*) AS n_all, "+
		"COALESCE(SUM(CASE WHEN d.id IN (?) THEN 1 ELSE 0 END), 0) AS n_down, "+
		"COALESCE(SUM(CASE WHEN d.id IN (?) THEN 0 WHEN d.id IN (?) THEN 1 WHEN "+fleetEnabled+" THEN 0 ELSE 1 END), 0) AS n_unknown",
		down, down, notUp, true).Scan(&n).Error; err != nil {
		return FleetCounts{}, fmt.Errorf("models: fleet: %w", err)
	}
	return FleetCounts{Down: n.NDown, Unknown: n.NUnknown, Up: n.NAll - n.NDown - n.NUnknown}, nil
}

// fleetBandPages fills f.Devices with the page at offset: a slice of the
// bands one after the other, each band it touches one query that walks
// the devices in order (backwards from the band's end when the page lies
// in its second half, so that the last pages cost what the first do).
func (s *Store) fleetBandPages(ctx context.Context, sc Scope, q FleetQuery, f *Fleet, offset int) error {
	want := q.size()
	for _, band := range fleetBands {
		if q.State != "" && band != q.State {
			continue
		}
		n := f.Counts.Of(band)
		if offset >= n {
			offset -= n
			continue
		}
		take := min(want, n-offset)
		var part []FleetDevice
		in := s.inBand(ctx, s.fleetDevices(ctx, sc, q), band).Select("d.*, o.name AS org_name, " + tagListSQL)
		var err error
		if offset > n/2 {
			err = in.Order("o.name DESC, d.name DESC, d.id DESC").Limit(take).Offset(n - offset - take).Scan(&part).Error
			slices.Reverse(part)
		} else {
			err = in.Order("o.name, d.name, d.id").Limit(take).Offset(offset).Scan(&part).Error
		}
		if err != nil {
			return fmt.Errorf("models: fleet: %w", err)
		}
		f.Devices = append(f.Devices, part...)
		offset, want = 0, want-len(part)
		if want <= 0 {
			break
		}
	}
	return nil
}

// fleetSelect counts what q matches and picks the page's devices (with
// their tags), problems first, as ListFleet describes.
func (s *Store) fleetSelect(ctx context.Context, sc Scope, q FleetQuery) (*Fleet, error) {
	if q.State != "" && q.State != StatusDown && q.State != StatusUnknown && q.State != StatusUp {
		return nil, wrap(Invalid("state", "error.bad_request"), "fleet")
	}
	counts, err := s.fleetCounts(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	f := &Fleet{Counts: counts}
	matched := f.Counts.Of(q.State)
	size := q.size()
	f.Pages = max(1, (matched+size-1)/size)
	f.Page = min(max(q.Page, 1), f.Pages)
	offset := (f.Page - 1) * size
	if q.Search != "" {
		// A search scans the devices anyway: one query sorts what it
		// matches (few) by state, instead of one scan per band.
		down, notUp := s.notUpChecks(ctx, StatusDown), s.notUpChecks(ctx, "")
		rank := "CASE WHEN d.id IN (?) THEN 0 WHEN d.id IN (?) THEN 1 WHEN " + fleetEnabled + " THEN 2 ELSE 1 END"
		page := s.fleetDevices(ctx, sc, q).Select("d.*, o.name AS org_name, "+tagListSQL+", "+rank+" AS state_rank", down, notUp, true)
		if q.State != "" {
			page = s.inBand(ctx, page, q.State)
		}
		if err := page.Order("state_rank, o.name, d.name, d.id").Limit(size).Offset(offset).
			Scan(&f.Devices).Error; err != nil {
			return nil, fmt.Errorf("models: fleet: %w", err)
		}
	} else if err := s.fleetBandPages(ctx, sc, q, f, offset); err != nil {
		return nil, err
	}
	for i := range f.Devices {
		f.Devices[i].Tags = splitTagList(f.Devices[i].TagList)
	}
	return f, nil
}

// ListFleet lists one page of the devices of every organization that sc
// sees, problems first: down, then unknown, then up; then by
// organization and name. It never aggregates every check: the counts
// come from the checks that are not up (few) and one pass over the
// matching devices, and each band of the page walks the
// devices in order and stops. At most five queries: the counts, one per band on the page,
// and the page's checks.
func (s *Store) ListFleet(ctx context.Context, sc Scope, q FleetQuery) (*Fleet, error) {
	f, err := s.fleetSelect(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(f.Devices))
	for i, d := range f.Devices {
		ids[i] = d.ID
	}
	var checks []Check
	if len(ids) > 0 {
		// At most FleetPageSize IDs: one page.
		// With each check's newest result: a check's row keeps its last
		// result only when its state changes.
		var err error
		if checks, err = s.findChecksWithLatest(sc.apply(s.db.WithContext(ctx), onChecks("org_id")).Where("checks.device_id IN ?", ids),
			"checks.id, checks.device_id, checks.enabled, checks.status, checks.last_at"); err != nil {
			return nil, fmt.Errorf("models: fleet: %w", err)
		}
	}
	byDevice := map[int64][]Check{}
	for _, c := range checks {
		byDevice[c.DeviceID] = append(byDevice[c.DeviceID], c)
	}
	for i := range f.Devices {
		d := &f.Devices[i]
		cs := byDevice[d.ID]
		d.State = DeviceState(cs)
		for _, c := range cs {
			if c.LastAt != nil && (d.LastAt == nil || c.LastAt.After(*d.LastAt)) {
				at := *c.LastAt
				d.LastAt = &at
			}
			if !c.Enabled {
				continue
			}
			d.Checks++
			if c.Status == StatusDown {
				d.ChecksDown++
			}
		}
	}
	return f, nil
}
