package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// deviceParam finds the device of the path within the request's scope: a
// customer's only in their own organization (another's is not found).
func (h *Handler) deviceParam(c *fiber.Ctx) (*models.Device, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetDevice(c.UserContext(), scope(c), id)
}

// showDevice is a device's page: uptime, checks, latency chart, outages.
func (h *Handler) showDevice(c *fiber.Ctx) error {
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	return h.renderDevice(c, fiber.StatusOK, d, views.DevicePageVM{})
}

// renderDevice fills vm with the device's data, every query filtered by the
// device's organization, and renders the page.
func (h *Handler) renderDevice(c *fiber.Ctx, status int, d *models.Device, vm views.DevicePageVM) error {
	ctx := c.UserContext()
	u := currentUser(c)
	org, err := h.store.GetOrg(ctx, scope(c), d.OrgID)
	if err != nil {
		return err
	}
	up, err := h.store.DeviceUptimeOf(ctx, scope(c), d, h.loc)
	if err != nil {
		return err
	}
	vm.Org, vm.Uptime, vm.Now = org, up, h.store.Now()
	// This month's allowance over the part of the month the device is
	// watched, and what counted of it so far, as the home page reads it.
	dm := deviceMonth(*up)
	vm.Month = &views.MonthAllowance{Allowance: dm.Allowance, Used: dm.Month.Counted}
	vm.Staff = u.Role.IsStaff()
	vm.CanEdit = engineers.Allows(u.Role)

	rng := c.Query("range")
	if rng != views.Range30d && rng != views.Range1y {
		rng = views.Range24h
	}
	vm.Chart.Range = rng
	if vm.ChartCheck = chartCheck(views.LatencyChecks(up.Checks), c.Query("check")); vm.ChartCheck != nil {
		if vm.Chart, err = h.chart(ctx, scope(c), d.OrgID, vm.ChartCheck, rng, vm.Now); err != nil {
			return err
		}
	}

	if vm.Outages, err = h.store.ListOutages(ctx, scope(c), d.OrgID, d.ID, views.OutagesShown); err != nil {
		return err
	}
	ids := make([]int64, len(vm.Outages))
	for i, o := range vm.Outages {
		ids[i] = o.ID
	}
	if vm.Segments, err = h.store.OutageSegmentsOf(ctx, scope(c), d.OrgID, vm.Outages); err != nil {
		return err
	}
	if vm.Evidence, err = h.store.EvidenceForOutages(ctx, scope(c), d.OrgID, ids, views.EvidenceShown); err != nil {
		return err
	}
	return h.render(c, status, views.DevicePage(vm))
}

// chartCheck is the check the chart shows: the one asked for, else the
// first ping, else the first check.
func chartCheck(checks []models.Check, want string) *models.Check {
	if id, err := strconv.ParseInt(want, 10, 64); err == nil {
		for i := range checks {
			if checks[i].ID == id {
				return &checks[i]
			}
		}
	}
	for i := range checks {
		if checks[i].Kind == models.KindICMP {
			return &checks[i]
		}
	}
	if len(checks) > 0 {
		return &checks[0]
	}
	return nil
}

// chart lays out a check's latency and loss over a range: a day from raw
// results, 30 days from hourly rollups, a year from daily ones.
func (h *Handler) chart(ctx context.Context, sc models.Scope, orgID int64, chk *models.Check, rng string, now time.Time) (views.Chart, error) {
	to := now
	from := to.Add(-views.ChartSpan(rng))
	interval := chk.Interval()
	var points []views.ChartPoint
	var maxGap time.Duration
	switch rng {
	case views.Range30d, views.Range1y:
		period, length := "h", time.Hour
		if rng == views.Range1y {
			period, length = "d", 24*time.Hour
		}
		rs, err := h.store.Rollups(ctx, sc, orgID, chk.ID, period, from.Truncate(length), to)
		if err != nil {
			return views.Chart{}, err
		}
		points, maxGap = views.PointsFromRollups(rs), max(interval, length)
	default:
		// Quarter hours, or three probes when probes are rarer: enough
		// probes per bucket for the min–max band to show their spread.
		step := max(15*time.Minute, 3*interval)
		start := from.Truncate(step)
		rs, err := h.store.Results(ctx, sc, orgID, chk.ID, start, to)
		if err != nil {
			return views.Chart{}, err
		}
		points, maxGap = views.PointsFromResults(rs, start, to, step), step
	}
	return views.BuildChart(rng, points, from, to, maxGap, h.loc), nil
}

// downloadResults sends a device's raw results of a period as CSV: from
// and to are dates in the portal's time zone, both included, at most
// models.MaxResultsDays days; without them the last 24 hours.
func (h *Handler) downloadResults(c *fiber.Ctx) error {
	d, err := h.deviceParam(c)
	if err != nil {
		return err
	}
	fromS, toS := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	from, to, err := h.resultsPeriod(fromS, toS)
	if errs := views.FromError(err); errs != nil {
		return h.renderDevice(c, fiber.StatusUnprocessableEntity, d, views.DevicePageVM{CSVFrom: fromS, CSVTo: toS, CSVErrors: errs})
	}
	return h.sendResultsCSV(c, d.Name, "device-"+itoa(d.ID), from, to, func(fn func(models.ResultRow) error) error {
		return h.store.EachDeviceResult(c.UserContext(), scope(c), d.OrgID, d.ID, from, to, fn)
	})
}

// sendResultsCSV answers the raw results each gives as the results
// download's CSV, one line a result, in a file named after name (or the
// plain-ASCII fallback) and the period [from, to). The device page's
// download and the API's results of a check (?format=csv) both send it.
func (h *Handler) sendResultsCSV(c *fiber.Ctx, name, fallback string, from, to time.Time, each func(func(models.ResultRow) error) error) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"check_id", "kind", "target", "time", "ok", "rtt_ms", "reason"})
	err := each(func(r models.ResultRow) error {
		rtt := ""
		if r.OK {
			rtt = strconv.FormatFloat(float64(r.RTTus)/1000, 'f', 3, 64)
		}
		return w.Write(csvCells(itoa(r.CheckID), string(r.Kind), r.Target, r.At.UTC().Format(time.RFC3339),
			strconv.FormatBool(r.OK), rtt, r.Reason))
	})
	if err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	// Named after the device ("web-01-results-…"), in UTF-8 for names in
	// Chinese, with the device's number as the plain-ASCII fallback.
	period := "-results-" + from.In(h.loc).Format("20060102-1504") + "-" + to.In(h.loc).Format("20060102-1504") + ".csv"
	full, ascii := fileNamePart(name, fallback)+period, fallback+period
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+ascii+`"; filename*=UTF-8''`+extValue(full))
	return c.Send(buf.Bytes())
}

// resultsPeriod reads the download's dates. One date alone is that day.
func (h *Handler) resultsPeriod(fromS, toS string) (time.Time, time.Time, error) {
	now := h.store.Now()
	if fromS == "" && toS == "" {
		return now.Add(-24 * time.Hour), now, nil
	}
	parse := func(field, s string) (time.Time, error) {
		t, err := time.ParseInLocation("2006-01-02", s, h.loc)
		if err != nil {
			return time.Time{}, models.Invalid(field, "error.date_invalid")
		}
		return t, models.CheckDate(field, t, h.loc)
	}
	var from, to time.Time
	var err error
	if fromS != "" {
		if from, err = parse("from", fromS); err != nil {
			return from, to, err
		}
	}
	if toS != "" {
		if to, err = parse("to", toS); err != nil {
			return from, to, err
		}
	}
	return dayRange(from, to, fromS, toS, models.MaxResultsDays)
}

// dayRange ends the reading of a download's dates, both included, once
// each given one is parsed: one date alone is that day, the days must be
// in order and at most maxDays. It returns from and the end of to's day.
func dayRange(from, to time.Time, fromS, toS string, maxDays int) (time.Time, time.Time, error) {
	switch {
	case fromS == "":
		from = to
	case toS == "":
		to = from
	}
	if to.Before(from) {
		return from, to, models.Invalid("to", "error.date_order")
	}
	end := to.AddDate(0, 0, 1)
	if end.After(from.AddDate(0, 0, maxDays)) {
		return from, to, models.Invalid("to", "error.period_too_long", maxDays)
	}
	return from, end, nil
}

// fileNamePart makes a name fit a downloaded file's name: letters and
// digits of any script kept, runs of anything else one hyphen; fallback
// when nothing is left.
func fileNamePart(name, fallback string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
		if b.Len() > 80 {
			break
		}
	}
	if s := strings.Trim(b.String(), "."); s != "" {
		return s
	}
	return fallback
}
