package handlers

// Monitoring reads of the JSON API: devices, their checks and uptime, a
// check's results, outages with their cause spans and notice clocks, and
// the emergency notices. The same scoped Store reads as the pages; the
// lists that may be long are keyset-paged in models/monitoring_read.go.

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// APIDevice is a watched device.
type APIDevice struct {
	ID       int64    `json:"id"`
	OrgID    int64    `json:"org_id"`
	Name     string   `json:"name"`
	Address  string   `json:"address" doc:"IPv4, IPv6 address or host name."`
	Cabinet  string   `json:"cabinet"`
	Position string   `json:"position"`
	Tags     []string `json:"tags"`
	// State is down when any enabled check is down, up when every one is.
	State     string `json:"state" enum:"up,down,unknown" doc:"down when any enabled check is down; up when every enabled check is up; else unknown."`
	CreatedAt string `json:"created_at" format:"date-time" doc:"When the device began to be watched: availability counts from then."`
}

func apiDevice(d models.Device, checks []models.Check) APIDevice {
	tags := d.Tags
	if tags == nil {
		tags = []string{}
	}
	return APIDevice{ID: d.ID, OrgID: d.OrgID, Name: d.Name, Address: d.Address, Cabinet: d.Cabinet, Position: d.Position,
		Tags: tags, State: models.DeviceState(checks), CreatedAt: apiTime(d.CreatedAt)}
}

// APICheck is one check of a device, with its last result.
type APICheck struct {
	ID              int64    `json:"id"`
	DeviceID        int64    `json:"device_id"`
	OrgID           int64    `json:"org_id"`
	Kind            string   `json:"kind" enum:"icmp,http,https,smtp,ftp,tcp,port"`
	Target          string   `json:"target" doc:"What is probed: an address, a URL, host:port."`
	IntervalSeconds int      `json:"interval_seconds"`
	TimeoutSeconds  float64  `json:"timeout_seconds"`
	FailThreshold   int      `json:"fail_threshold" doc:"Failed probes in a row that make an outage."`
	Enabled         bool     `json:"enabled"`
	Status          string   `json:"status" enum:"up,down,unknown"`
	LastAt          *string  `json:"last_at" format:"date-time" doc:"The last probe; null before the first."`
	LastOK          *bool    `json:"last_ok"`
	LastRTTMs       *float64 `json:"last_rtt_ms" doc:"Round trip of the last probe in milliseconds, when it succeeded."`
	LastReason      *string  `json:"last_reason" doc:"Why the last probe failed (timeout, refused, bad_status, …)."`
	CertExpiresAt   *string  `json:"cert_expires_at" format:"date-time" doc:"The TLS certificate's expiry, for https checks."`
	OpenOutageID    *int64   `json:"open_outage_id" doc:"The outage this check is in now; null when none."`
}

func apiCheck(c models.Check) APICheck {
	out := APICheck{ID: c.ID, DeviceID: c.DeviceID, OrgID: c.OrgID, Kind: string(c.Kind), Target: c.Target,
		IntervalSeconds: c.IntervalSec, TimeoutSeconds: float64(c.TimeoutMs) / 1000, FailThreshold: c.FailThreshold,
		Enabled: c.Enabled, Status: c.Status, LastAt: apiTimePtr(c.LastAt), CertExpiresAt: apiTimePtr(c.CertExpiresAt),
		OpenOutageID: c.OpenOutageID}
	if out.Status != models.StatusUp && out.Status != models.StatusDown {
		out.Status = models.StatusUnknown
	}
	if c.LastAt != nil {
		ok := c.LastOK
		out.LastOK = &ok
		if ok {
			ms := float64(c.LastRTTus) / 1000
			out.LastRTTMs = &ms
		} else if c.LastReason != "" {
			r := c.LastReason
			out.LastReason = &r
		}
	}
	return out
}

// apiOrgQuery reads the optional ?org_id= filter (0 when absent). An
// organization outside the request's scope is no error: its list is
// empty (seen reports false), as that of one that does not exist.
func apiOrgQuery(c *fiber.Ctx) (id int64, seen bool, err error) {
	if id, err = apiQueryOrg(c); err != nil {
		return 0, false, err
	}
	return id, id == 0 || scope(c).Allows(id), nil
}

// apiListDevices: GET /api/v1/devices, by ID.
func (h *Handler) apiListDevices(c *fiber.Ctx) error {
	var after int64
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	orgID, seen, err := apiOrgQuery(c)
	if err != nil {
		return err
	}
	if !seen {
		return apiList(c, []APIDevice{}, false, nil)
	}
	ctx, sc := c.UserContext(), scope(c)
	ds, more, err := h.store.DevicesPage(ctx, sc, orgID, after, limit)
	if err != nil {
		return err
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	checks, err := h.store.ChecksOfDevices(ctx, sc, ids)
	if err != nil {
		return err
	}
	out := make([]APIDevice, len(ds))
	for i, d := range ds {
		out[i] = apiDevice(d, checks[d.ID])
	}
	var next int64
	if len(ds) > 0 {
		next = ds[len(ds)-1].ID
	}
	return apiList(c, out, more, next)
}

// apiGetDevice: GET /api/v1/devices/:id.
func (h *Handler) apiGetDevice(c *fiber.Ctx) error {
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	ctx, sc := c.UserContext(), scope(c)
	if d.Tags, err = h.store.DeviceTags(ctx, sc, d.OrgID, d.ID); err != nil {
		return err
	}
	checks, err := h.store.ListChecks(ctx, sc, d.OrgID, d.ID)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, apiDevice(*d, checks))
}

// apiListDeviceChecks: GET /api/v1/devices/:id/checks, every check of the
// device (a handful: one page).
func (h *Handler) apiListDeviceChecks(c *fiber.Ctx) error {
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	checks, err := h.store.ListChecks(c.UserContext(), scope(c), d.OrgID, d.ID)
	if err != nil {
		return err
	}
	out := make([]APICheck, len(checks))
	for i, ch := range checks {
		out[i] = apiCheck(ch)
	}
	return apiList(c, out, false, nil)
}

// apiCheckParam finds the check of the path within the request's scope,
// with its last result, and its device.
func (h *Handler) apiCheckParam(c *fiber.Ctx) (*models.Check, *models.Device, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	ctx, sc := c.UserContext(), scope(c)
	chk, err := h.store.GetCheck(ctx, sc, id)
	if err != nil {
		return nil, nil, err
	}
	d, err := h.store.GetDevice(ctx, sc, chk.DeviceID)
	if err != nil {
		return nil, nil, err
	}
	// The device's checks carry their newest result, as on its page.
	checks, err := h.store.ListChecks(ctx, sc, d.OrgID, d.ID)
	if err != nil {
		return nil, nil, err
	}
	for i := range checks {
		if checks[i].ID == chk.ID {
			return &checks[i], d, nil
		}
	}
	return nil, nil, models.ErrNotFound
}

// apiGetCheck: GET /api/v1/checks/:id.
func (h *Handler) apiGetCheck(c *fiber.Ctx) error {
	chk, _, err := h.apiCheckParam(c)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, apiCheck(*chk))
}

// APIAvailability is a device's availability over a period.
type APIAvailability struct {
	From string `json:"from" format:"date-time"`
	To   string `json:"to" format:"date-time"`
	// MeasuredSeconds is the part of the period measured: watched, and past.
	MeasuredSeconds int64 `json:"measured_seconds" doc:"The part of the period measured: after the device was added, and not in the future."`
	DownSeconds     int64 `json:"down_seconds" doc:"Downtime of any cause, overlapping outages once."`
	CountedSeconds  int64 `json:"counted_seconds" doc:"Downtime that counts against the provider (not the customer's, agreed maintenance, authorized operations or force majeure)."`
	// AvailabilityPercent is what the agreement measures.
	AvailabilityPercent *float64 `json:"availability_percent" doc:"The agreement's availability: the measured time not lost to counted downtime; null when nothing was measured."`
	RawPercent          *float64 `json:"raw_percent" doc:"The measured time with no downtime of any cause; null when nothing was measured."`
}

func apiAvailability(from, to time.Time, a models.Availability) APIAvailability {
	out := APIAvailability{From: apiTime(from), To: apiTime(to), MeasuredSeconds: int64(a.Total.Seconds()),
		DownSeconds: int64(a.Down.Seconds()), CountedSeconds: int64(a.Counted.Seconds())}
	if a.Total > 0 {
		p, r := a.Percent(), a.RawPercent()
		out.AvailabilityPercent, out.RawPercent = &p, &r
	}
	return out
}

// APIPeriodAvailability is one of the uptime page's periods.
type APIPeriodAvailability struct {
	Period string `json:"period" enum:"24h,30d,month,90d" doc:"The last 24 hours, 30 days, this calendar month, the last 90 days."`
	APIAvailability
}

// APIMonthAvailability is a calendar month in the provider's time zone.
type APIMonthAvailability struct {
	Month string `json:"month" doc:"YYYY-MM, in the provider's time zone."`
	APIAvailability
	AllowanceSeconds int64 `json:"allowance_seconds" doc:"The downtime the agreement allows in the month's watched part."`
}

// APIUptime is a device's availability: the uptime page's periods and
// one line a calendar month.
type APIUptime struct {
	DeviceID int64                   `json:"device_id"`
	State    string                  `json:"state" enum:"up,down,unknown"`
	Periods  []APIPeriodAvailability `json:"periods"`
	Months   []APIMonthAvailability  `json:"months" doc:"Oldest first."`
}

// MaxAPIUptimeMonths bounds the months of one uptime answer.
const MaxAPIUptimeMonths = 36

// apiMonthQuery reads an optional month (YYYY-MM) of the query: its first
// instant in the provider's zone.
func (h *Handler) apiMonthQuery(c *fiber.Ctx, name string) (time.Time, error) {
	v, err := apiQueryMonth(c, name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	return time.ParseInLocation("2006-01", v, h.loc)
}

// apiDeviceUptime: GET /api/v1/devices/:id/uptime?from=YYYY-MM&to=YYYY-MM,
// both months included, the last 12 by default.
func (h *Handler) apiDeviceUptime(c *fiber.Ctx) error {
	from, err := h.apiMonthQuery(c, "from")
	if err != nil {
		return err
	}
	to, err := h.apiMonthQuery(c, "to")
	if err != nil {
		return err
	}
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	ctx, sc := c.UserContext(), scope(c)
	now := h.store.Now()
	if to.IsZero() {
		to = monthStart(now, h.loc)
		if !from.IsZero() && from.AddDate(0, 11, 0).Before(to) {
			to = from.AddDate(0, 11, 0) // twelve months from from
		}
	}
	if from.IsZero() {
		from = to.AddDate(0, -11, 0)
	}
	if to.Before(from) {
		return apiBadRequest("api.mon.order")
	}
	if from.AddDate(0, MaxAPIUptimeMonths, 0).Before(to.AddDate(0, 1, 0)) {
		return apiBadRequest("api.mon.months_long", MaxAPIUptimeMonths)
	}
	up, err := h.store.DeviceUptimeOf(ctx, sc, d, h.loc)
	if err != nil {
		return err
	}
	end := to.AddDate(0, 1, 0)
	spans, err := h.store.OutageSpans(ctx, sc, d.OrgID, []int64{d.ID}, from, end)
	if err != nil {
		return err
	}
	out := APIUptime{DeviceID: d.ID, State: up.State}
	for _, p := range up.Periods {
		out.Periods = append(out.Periods, APIPeriodAvailability{Period: p.Period, APIAvailability: apiAvailability(p.From, p.To, p.Availability)})
	}
	since := models.MonitoredSince(*d)
	for m := from; m.Before(end); m = m.AddDate(0, 1, 0) {
		next := m.AddDate(0, 1, 0)
		a := models.ComputeAvailability(m, next, since, now, spans[d.ID])
		out.Months = append(out.Months, APIMonthAvailability{Month: m.Format("2006-01"),
			APIAvailability: apiAvailability(m, next, a), AllowanceSeconds: int64(models.Allowance(m, next, since).Seconds())})
	}
	return apiJSON(c, fiber.StatusOK, out)
}

// APIResult is one raw probe result.
type APIResult struct {
	CheckID int64    `json:"check_id"`
	At      string   `json:"at" format:"date-time" doc:"When the probe ran, to the millisecond."`
	OK      bool     `json:"ok"`
	RTTMs   *float64 `json:"rtt_ms" doc:"Round trip in milliseconds; null for a failed probe."`
	Reason  *string  `json:"reason" doc:"Why a failed probe failed (timeout, refused, bad_status, …); null when it succeeded."`
}

// apiResultsPeriod reads ?from= and ?to= of a check's results: RFC 3339
// times or dates in the provider's zone (a date to is included whole, and
// one date alone is that day, as in the page's download); the last 24
// hours by default; at most models.MaxResultsDays days.
func (h *Handler) apiResultsPeriod(c *fiber.Ctx) (time.Time, time.Time, error) {
	from, err := h.apiQueryTime(c, "from")
	if err != nil {
		return from, from, err
	}
	to, err := h.apiQueryTime(c, "to")
	if err != nil {
		return from, to, err
	}
	isDate := func(name string) bool { return len(c.Query(name)) == len(time.DateOnly) }
	now := h.store.Now()
	switch {
	case from.IsZero() && to.IsZero():
		from, to = now.Add(-24*time.Hour), now
	case to.IsZero() && isDate("from"):
		to = from.In(h.loc).AddDate(0, 0, 1)
	case to.IsZero():
		to = now
	default:
		if isDate("to") {
			to = to.In(h.loc).AddDate(0, 0, 1)
		}
		if from.IsZero() {
			from = to.Add(-24 * time.Hour)
		}
	}
	if !to.After(from) {
		return from, to, apiBadRequest("api.mon.order")
	}
	if to.Sub(from) > time.Duration(models.MaxResultsDays)*24*time.Hour {
		return from, to, apiBadRequest("api.mon.period_long", models.MaxResultsDays)
	}
	return from.UTC(), to.UTC(), nil
}

// apiWantsCSV reports whether a request asks for text/csv: ?format=csv,
// or Accept: text/csv without ?format=json.
func apiWantsCSV(c *fiber.Ctx) (bool, error) {
	switch c.Query("format") {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(strings.ToLower(c.Get(fiber.HeaderAccept)), "text/csv"), nil
	}
	return false, apiBadRequest("api.mon.format")
}

// apiCheckResults: GET /api/v1/checks/:id/results, newest first, or the
// whole period as the page's CSV download.
func (h *Handler) apiCheckResults(c *fiber.Ctx) error {
	var before time.Time
	limit, err := apiPage(c, &before)
	if err != nil {
		return err
	}
	from, to, err := h.apiResultsPeriod(c)
	if err != nil {
		return err
	}
	csv, err := apiWantsCSV(c)
	if err != nil {
		return err
	}
	chk, d, err := h.apiCheckParam(c)
	if err != nil {
		return err
	}
	ctx, sc := c.UserContext(), scope(c)
	if csv {
		return h.sendResultsCSV(c, d.Name+"-check-"+itoa(chk.ID), "check-"+itoa(chk.ID), from, to,
			func(fn func(models.ResultRow) error) error {
				return h.store.EachCheckResult(ctx, sc, chk.OrgID, chk.ID, from, to, fn)
			})
	}
	rs, more, err := h.store.ResultsPage(ctx, sc, chk.OrgID, chk.ID, from, to, before, limit)
	if err != nil {
		return err
	}
	out := make([]APIResult, len(rs))
	for i, r := range rs {
		out[i] = APIResult{CheckID: r.CheckID, At: r.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"), OK: r.OK}
		if r.OK {
			ms := float64(r.RTTus) / 1000
			out[i].RTTMs = &ms
		} else {
			reason := r.Reason
			out[i].Reason = &reason
		}
	}
	var next time.Time
	if len(rs) > 0 {
		next = rs[len(rs)-1].At
	}
	return apiList(c, out, more, next)
}

// apiOrgParam documents the ?org_id= filter of a list.
var apiOrgParam = APIParam{Name: "org_id", Type: "integer", Format: "int64",
	Doc: "Only this organization's (staff; a customer sees their own only)."}
