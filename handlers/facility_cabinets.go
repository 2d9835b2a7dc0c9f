package handlers

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Cabinets' power and environment: a customer sees its own
// organization's cabinets (another organization's cabinet is not found),
// staff every one, narrowed to an organization. Each cabinet's page has
// the charts of a range and the readings download.

// showCabinets lists the cabinets with meters.
func (h *Handler) showCabinets(c *fiber.Ctx) error {
	ctx := c.UserContext()
	vm := views.CabinetsVM{Staff: currentUser(c).Role.IsStaff()}
	if vm.Staff {
		vm.OrgID, _ = strconv.ParseInt(c.Query("org"), 10, 64)
		var err error
		if vm.Orgs, err = h.store.CabinetChoices(ctx, scope(c)); err != nil {
			return err
		}
	}
	var err error
	if vm.Cabinets, err = h.store.ListCabinets(ctx, scope(c), vm.OrgID); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.CabinetsPage(vm))
}

// cabinetLinks maps each metered cabinet of organization orgID to its
// page, so that the pages naming a cabinet (a shipment, a standing entry)
// link only to a cabinet that has one.
func (h *Handler) cabinetLinks(c *fiber.Ctx, orgID int64) (map[string]string, error) {
	cabs, err := h.store.ListCabinets(c.UserContext(), scope(c), orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(cabs))
	for _, cab := range cabs {
		out[cab.Cabinet] = views.CabinetURL(cab.Key)
	}
	return out, nil
}

// cabinetParam is the cabinet of the path's :key, if the request's scope
// may see it.
func (h *Handler) cabinetParam(c *fiber.Ctx) (*models.CabinetNow, error) {
	return h.store.GetCabinet(c.UserContext(), scope(c), c.Params("key"))
}

// showCabinet is one cabinet's page, its charts of ?range= (day by
// default).
func (h *Handler) showCabinet(c *fiber.Ctx) error {
	cab, err := h.cabinetParam(c)
	if err != nil {
		return err
	}
	return h.renderCabinet(c, fiber.StatusOK, cab, views.CabinetVM{Range: c.Query("range")})
}

func (h *Handler) renderCabinet(c *fiber.Ctx, status int, cab *models.CabinetNow, vm views.CabinetVM) error {
	ctx, sc := c.UserContext(), scope(c)
	u := currentUser(c)
	vm.Staff, vm.CanManage, vm.Cabinet = u.Role.IsStaff(), engineers.Allows(u.Role), cab
	valid := false
	for _, r := range views.TrafficRanges {
		valid = valid || r == vm.Range
	}
	if !valid {
		vm.Range = views.TrafficDay
	}
	span, step := views.TrafficSpan(vm.Range)
	now := h.store.Now()
	from := now.Add(-span).Truncate(step)
	series, err := h.store.CabinetSeriesOf(ctx, sc, cab, from, now, step)
	if err != nil {
		return err
	}
	interval := time.Duration(0)
	for _, m := range cab.Meters {
		interval = max(interval, time.Duration(m.SwitchIntervalSec)*time.Second)
	}
	maxGap := max(step, 2*interval)
	// The request's language lives in the view context, not in
	// c.UserContext(): titles built here must use it.
	vctx := h.viewContext(c)
	t := func(key string, args ...any) string { return views.T(vctx, key, args...) }
	rangeName := t("traffic.range." + vm.Range)
	if series.DrawQuantity != "" {
		var limits []views.FacilityLimitIn
		if series.DrawQuantity == models.QuantityPower && cab.ContractedW > 0 {
			limits = append(limits, views.FacilityLimitIn{Kind: "contract", Milli: cab.ContractedW * 1000})
		}
		vm.Charts = append(vm.Charts, views.BuildFacilityChart("draw", vm.Range,
			t("facility.chart_draw", t("facility.quantity."+series.DrawQuantity), rangeName),
			models.QuantityUnit(series.DrawQuantity), []views.FacilitySeriesIn{{Name: t("facility.total"), Points: series.Draw}},
			limits, from, now, step, maxGap, h.loc))
	}
	for _, q := range []string{models.QuantityTemperature, models.QuantityHumidity} {
		var lines []views.FacilitySeriesIn
		var limits []views.FacilityLimitIn
		for _, ms := range series.Meters {
			m := ms.Meter
			if m.Quantity != q {
				continue
			}
			lines = append(lines, views.FacilitySeriesIn{Name: views.MeterName(vctx, &m.FacilityMeter), Points: ms.Points})
			for _, l := range []struct {
				kind string
				v    *int64
			}{{"high", m.HighMilli}, {"low", m.LowMilli}} {
				if l.v != nil && !containsLimit(limits, l.kind, *l.v) {
					limits = append(limits, views.FacilityLimitIn{Kind: l.kind, Milli: *l.v})
				}
			}
		}
		if len(lines) > 0 {
			vm.Charts = append(vm.Charts, views.BuildFacilityChart(q, vm.Range, t("facility.chart_env", t("facility.quantity."+q), rangeName),
				models.QuantityUnit(q), lines, limits, from, now, step, maxGap, h.loc))
		}
	}
	return h.render(c, status, views.CabinetPage(vm))
}

func containsLimit(ls []views.FacilityLimitIn, kind string, v int64) bool {
	for _, l := range ls {
		if l.Kind == kind && l.Milli == v {
			return true
		}
	}
	return false
}

// downloadCabinetReadings sends a cabinet's readings of a period as CSV
// (all its meters, or the one of ?meter=): from and to are dates in the
// provider's zone, both included, at most models.FacilityCSVDays days;
// without them this month. Bad dates show the cabinet's page again.
func (h *Handler) downloadCabinetReadings(c *fiber.Ctx) error {
	cab, err := h.cabinetParam(c)
	if err != nil {
		return err
	}
	var meter *models.FacilityMeter
	if ref := strings.TrimSpace(c.Query("meter")); ref != "" {
		if meter, err = h.store.GetFacilityMeter(c.UserContext(), scope(c), ref); err != nil {
			return err
		}
	}
	fromS, toS := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	from, to, err := h.trafficPeriod(fromS, toS)
	if errs := views.FromError(err); errs != nil {
		return h.renderCabinet(c, fiber.StatusUnprocessableEntity, cab, views.CabinetVM{CSVFrom: fromS, CSVTo: toS,
			CSVMeter: c.Query("meter"), CSVErrors: errs})
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"at", "meter", "quantity", "feed", "value", "unit"})
	err = h.store.EachCabinetReading(c.UserContext(), scope(c), cab, meter, from, to, func(m *models.CabinetMeter, r *models.FacilityReading) error {
		return w.Write(csvCells(r.At.UTC().Format(time.RFC3339), m.Name(), m.Quantity, m.Feed, models.FormatMilli(r.Milli), m.Unit()))
	})
	if err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	zone := h.store.Zone()
	period := "-" + from.In(zone).Format("20060102") + "-" + to.Add(-time.Nanosecond).In(zone).Format("20060102") + ".csv"
	ascii := "cabinet-" + fileNamePart(cab.Cabinet, "cabinet") + period
	name := fileNamePart(cab.OrgSlug+"-"+cab.Cabinet, "cabinet") + period
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+ascii+`"; filename*=UTF-8''`+extValue(name))
	return c.Send(buf.Bytes())
}
