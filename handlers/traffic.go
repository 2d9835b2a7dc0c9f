package handlers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// trafficPageSize is how many ports one page of the staff's list shows;
// trafficBusiest how many of the busiest ports it shows above them.
const (
	trafficPageSize = 100
	trafficBusiest  = 10
)

// showTraffic lists ports: a customer's own, with their current rates and
// this month's 95th percentile; for staff the busiest ports and every
// port, busiest first, narrowed by organization (or unmapped) and switch.
func (h *Handler) showTraffic(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	now := h.store.Now()
	vm := views.TrafficListVM{Staff: u.Role.IsStaff(), CanManage: engineers.Allows(u.Role), Now: now}
	if !vm.Staff {
		l, err := h.store.ListTrafficPorts(ctx, scope(c), models.TrafficFilter{Month: now.In(h.store.Zone()).Format("2006-01")})
		if err != nil {
			return err
		}
		vm.List = l
		return h.render(c, fiber.StatusOK, views.TrafficListPage(vm))
	}
	f := models.TrafficFilter{Busiest: true, Page: c.QueryInt("page", 1), PageSize: trafficPageSize}
	if o := c.Query("org"); o == "none" {
		f.Unmapped = true
	} else if id, err := strconv.ParseInt(o, 10, 64); err == nil && id > 0 {
		f.OrgID = id
	}
	if id, err := strconv.ParseInt(c.Query("switch"), 10, 64); err == nil && id > 0 {
		f.SwitchID = id
	}
	since, by := now.Add(-time.Hour), models.RankMean
	vm.BusyOver = views.BusyHour
	switch b := c.Query("busy"); b {
	case views.BusyDay:
		since, vm.BusyOver = now.Add(-24*time.Hour), b
	case views.BusyPeak:
		since, by, vm.BusyOver = now.Add(-24*time.Hour), models.RankPeak, b
	}
	l, err := h.store.ListTrafficPorts(ctx, scope(c), f)
	if err != nil {
		return err
	}
	vm.List, vm.Filter = l, f
	if l.Total == 0 && f == (models.TrafficFilter{Busiest: true, Page: f.Page, PageSize: trafficPageSize}) {
		// Nothing monitored at all: the page says so and no more.
		return h.render(c, fiber.StatusOK, views.TrafficListPage(vm))
	}
	if vm.Busy, err = h.store.BusiestPorts(ctx, scope(c), since, trafficBusiest, by); err != nil {
		return err
	}
	if vm.Choices, err = h.store.ListTrafficChoices(ctx, scope(c)); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.TrafficListPage(vm))
}

// trafficPortParam is the port of the path's :ref, if the request's scope
// may see it: another organization's port is not found.
func (h *Handler) trafficPortParam(c *fiber.Ctx) (*models.SwitchPort, error) {
	return h.store.GetSwitchPort(c.UserContext(), scope(c), c.Params("ref"))
}

// showTrafficPort is one port's page: its state, this month's and last
// month's 95th percentile, the four charts and the samples download.
func (h *Handler) showTrafficPort(c *fiber.Ctx) error {
	p, err := h.trafficPortParam(c)
	if err != nil {
		return err
	}
	return h.renderTrafficPort(c, fiber.StatusOK, p, views.TrafficPortVM{})
}

func (h *Handler) renderTrafficPort(c *fiber.Ctx, status int, p *models.SwitchPort, vm views.TrafficPortVM) error {
	ctx, sc := c.UserContext(), scope(c)
	u := currentUser(c)
	now := h.store.Now()
	vm.Staff, vm.CanManage, vm.Now = u.Role.IsStaff(), engineers.Allows(u.Role), now
	var err error
	if vm.Port, err = h.store.PortNow(ctx, sc, p); err != nil {
		return err
	}
	month := now.In(h.store.Zone())
	vm.MonthName = month.Format("2006-01")
	vm.LastMonthName = time.Date(month.Year(), month.Month()-1, 1, 0, 0, 0, 0, month.Location()).Format("2006-01")
	if vm.Month, err = h.store.TrafficMonthOf(ctx, sc, p, vm.MonthName); err != nil {
		return err
	}
	if vm.LastMonth, err = h.store.TrafficMonthOf(ctx, sc, p, vm.LastMonthName); err != nil {
		return err
	}
	for _, rng := range views.TrafficRanges {
		span, step := views.TrafficSpan(rng)
		from := now.Add(-span).Truncate(step)
		points, err := h.store.TrafficSeries(ctx, sc, p, from, now, step)
		if err != nil {
			return err
		}
		vm.Charts = append(vm.Charts, views.BuildTrafficChart(rng, points, from, now, step, max(step, vm.Port.Interval()), h.loc))
	}
	return h.render(c, status, views.TrafficPortPage(vm))
}

// downloadTrafficSamples sends a port's samples of a period as CSV: from
// and to are dates in the provider's time zone, both included, at most
// models.TrafficCSVDays days; without them this month. Bad dates show the
// port's page again with the form's errors.
func (h *Handler) downloadTrafficSamples(c *fiber.Ctx) error {
	p, err := h.trafficPortParam(c)
	if err != nil {
		return err
	}
	fromS, toS := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	from, to, err := h.trafficPeriod(fromS, toS)
	if errs := views.FromError(err); errs != nil {
		return h.renderTrafficPort(c, fiber.StatusUnprocessableEntity, p, views.TrafficPortVM{CSVFrom: fromS, CSVTo: toS, CSVErrors: errs})
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"at", "in_bps", "out_bps", "in_octets", "out_octets", "errors", "discards", "oper_status", "note"})
	err = h.store.EachTrafficSample(c.UserContext(), scope(c), p, from, to, func(s *models.TrafficSample) error {
		var inBps, outBps, inOct, outOct, errs, discards string
		if s.Valid {
			inBps, outBps = itoa(s.InBps()), itoa(s.OutBps())
			inOct, outOct = itoa(s.InOctets), itoa(s.OutOctets)
			errs, discards = itoa(s.InErrors+s.OutErrors), itoa(s.InDiscards+s.OutDiscards)
		}
		status := "down"
		if s.OperUp {
			status = "up"
		}
		return w.Write(csvCells(s.At.UTC().Format(time.RFC3339), inBps, outBps, inOct, outOct, errs, discards, status, s.Note))
	})
	if err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	zone := h.store.Zone()
	period := "-traffic-" + from.In(zone).Format("20060102") + "-" + to.Add(-time.Nanosecond).In(zone).Format("20060102") + ".csv"
	ascii := "port-" + fileNamePart(p.Ref, "port") + period
	name := fileNamePart(p.Label(), "port-"+p.Ref) + period
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+ascii+`"; filename*=UTF-8''`+extValue(name))
	return c.Send(buf.Bytes())
}

// trafficPeriod reads the samples download's dates in the provider's
// zone: one date alone is that day, none this month so far.
func (h *Handler) trafficPeriod(fromS, toS string) (time.Time, time.Time, error) {
	zone := h.store.Zone()
	if fromS == "" && toS == "" {
		now := h.store.Now().In(zone)
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, zone)
		return first, first.AddDate(0, 1, 0), nil
	}
	var from, to time.Time
	var problems []error
	for _, d := range []struct {
		field, s string
		t        *time.Time
	}{{"from", fromS, &from}, {"to", toS, &to}} {
		if d.s == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", d.s, zone)
		if err != nil {
			err = models.Invalid(d.field, "error.date_invalid")
		} else {
			err = models.CheckDate(d.field, t, zone)
		}
		if err != nil {
			problems = append(problems, err)
		}
		*d.t = t
	}
	if len(problems) > 0 {
		return from, to, errors.Join(problems...)
	}
	return dayRange(from, to, fromS, toS, models.TrafficCSVDays)
}
