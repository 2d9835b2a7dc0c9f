package views

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// Cabinet power and environment pages: a PDU's or sensor's meters on its
// device page, a meter's mapping page, the cabinets list and a
// cabinet's page with its charts, the proposals on /power.

// MeterAddVM is the form adding a meter to a device, as typed.
type MeterAddVM struct {
	OID, Quantity, Divisor, Feed, Label string
	Errors                              FormErrors
}

// MeterPageVM is one meter's page: its facts and the form of its label,
// mapping and thresholds (the organization chosen first: the page
// reloads with its cabinets and contracts).
type MeterPageVM struct {
	Switch     *models.Switch
	Meter      *models.FacilityMeter
	Orgs       []models.OrgSummary
	OrgID      int64
	Cabinets   []string
	Contracts  []models.ContractRow
	Label      string
	Cabinet    string
	ContractID int64
	High, Low  string
	Errors     FormErrors
}

// OrgName is the name of the form's organization.
func (vm MeterPageVM) OrgName() string {
	for _, o := range vm.Orgs {
		if o.ID == vm.OrgID {
			return o.Name
		}
	}
	return ""
}

// MeterURL is a meter's page on its device.
func MeterURL(switchID int64, ref string) string { return Path("/network/", switchID, "/meters/", ref) }

// CabinetURL is a cabinet's page.
func CabinetURL(key string) string { return "/cabinets/" + url.PathEscape(key) }

// MilliText is a value in thousandths of unit as text: "12.5 °C";
// power of a kilowatt and more in kW.
func MilliText(v int64, unit string) string {
	if unit == "W" && (v >= 1_000_000 || v <= -1_000_000) {
		return trimDecimals(float64(v)/1e6, 2) + " kW"
	}
	switch unit {
	case "W":
		return trimDecimals(float64(v)/1000, 0) + " W"
	case "A": // a server draws fractions of an ampere: 0.25 A, not 0.3
		return trimDecimals(float64(v)/1000, 2) + " A"
	}
	return trimDecimals(float64(v)/1000, 1) + " " + unit
}

// meterNow is a cabinet meter's last value as the rest of the page writes
// values (kW past a kilowatt), "—" without a fresh one.
func meterNow(m *models.CabinetMeter) string {
	if !m.Fresh || m.LastMilli == nil {
		return "—"
	}
	return MilliText(*m.LastMilli, m.Unit())
}

// MilliPtr is MilliText, "—" for nil.
func MilliPtr(v *int64, unit string) string {
	if v == nil {
		return "—"
	}
	return MilliText(*v, unit)
}

// thresholdRange writes a meter's thresholds as the range it keeps to:
// "18 °C – 27 °C", "≤ 16 A" with only a high one, "≥ 18 °C" with only a
// low one, "—" with none (not "— – 16 A").
func thresholdRange(low, high *int64, unit string) string {
	switch {
	case low != nil && high != nil:
		return MilliText(*low, unit) + " – " + MilliText(*high, unit)
	case high != nil:
		return "≤ " + MilliText(*high, unit)
	case low != nil:
		return "≥ " + MilliText(*low, unit)
	}
	return "—"
}

func trimDecimals(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// thresholdText is a threshold as the form shows it ("" for none).
func thresholdText(v *int64) string {
	if v == nil {
		return ""
	}
	return models.FormatMilli(*v)
}

// MeterFormOf fills a meter page's form from the meter as stored.
func MeterFormOf(sw *models.Switch, m *models.FacilityMeter) MeterPageVM {
	vm := MeterPageVM{Switch: sw, Meter: m, Label: m.Label, Cabinet: m.Cabinet, High: thresholdText(m.HighMilli), Low: thresholdText(m.LowMilli)}
	if m.OrgID != nil {
		vm.OrgID = *m.OrgID
	}
	if m.ContractID != nil {
		vm.ContractID = *m.ContractID
	}
	return vm
}

// quantityName is a quantity in words.
func quantityName(ctx context.Context, q string) string { return T(ctx, "facility.quantity."+q) }

// meterName names a meter: its label, else its quantity and feed.
func meterName(ctx context.Context, m *models.FacilityMeter) string {
	if m.Label != "" {
		return m.Label
	}
	if m.Feed != "" {
		return T(ctx, "facility.meter_feed", quantityName(ctx, m.Quantity), m.Feed)
	}
	return quantityName(ctx, m.Quantity)
}

// MeterName is meterName for the handlers (chart legends): a meter
// without a label is named by its translated quantity and feed.
func MeterName(ctx context.Context, m *models.FacilityMeter) string { return meterName(ctx, m) }

// kindAddsNothing reports whether a meter's name already says its
// quantity ("Humidity", "Feed A current"), so the kind beside it would
// repeat it.
func kindAddsNothing(ctx context.Context, m *models.FacilityMeter) bool {
	return strings.Contains(strings.ToLower(meterName(ctx, m)), strings.ToLower(quantityName(ctx, m.Quantity)))
}

// lastValue is a meter's last value with its unit, "—" before the first.
func lastValue(m *models.FacilityMeter) string {
	if m.LastMilli == nil {
		return "—"
	}
	return MilliText(*m.LastMilli, m.Unit())
}

// alertBadge names a meter's crossing in progress.
func alertName(ctx context.Context, kind string) string { return T(ctx, "facility.alert."+kind) }

// SwitchKindName names a kind of polled device.
func SwitchKindName(ctx context.Context, kind string) string {
	if kind == "" {
		kind = models.SwitchNetwork
	}
	return T(ctx, "network.kind."+kind)
}

// CabinetsVM is the list of cabinets: a customer's own, or for staff
// those of the organization picked (all without one).
type CabinetsVM struct {
	Staff    bool
	Cabinets []models.CabinetNow
	Orgs     []models.TrafficChoice
	OrgID    int64
}

// CabinetVM is one cabinet's page.
type CabinetVM struct {
	Staff     bool
	CanManage bool
	Cabinet   *models.CabinetNow
	Range     string
	Charts    []FacilityChart
	CSVFrom   string
	CSVTo     string
	CSVMeter  string
	CSVErrors FormErrors
}

// sharePct is the draw's share of the contracted power, for the bar: the
// width (at most 100) and the text.
func sharePct(c *models.CabinetNow) (width int64, text string, ok bool) {
	pct, ok := c.SharePct()
	if !ok {
		return 0, "", false
	}
	return min(pct, 100), strconv.FormatInt(pct, 10) + "%", true
}

// rangeURL is the cabinet's page with range rng.
func rangeURL(key, rng string) string {
	if rng == TrafficDay {
		return CabinetURL(key)
	}
	return CabinetURL(key) + "?range=" + rng
}

// ProposalFormVM is the form confirming a proposal as a power incident,
// prefilled with its cabinet and times.
type ProposalFormVM struct {
	P                  *models.PowerProposalRow
	StartedAt, EndedAt string
	BothDown           string // "yes", "no" or ""
	ForceMajeure       bool
	Cause, Note        string
	Reason             string // the dismissal's
	Errors             FormErrors
}

// ProposalURL is a proposal's confirmation page.
func ProposalURL(ref string) string { return "/power/proposals/" + url.PathEscape(ref) }

// FacilityChart is one chart of a cabinet laid out for an SVG of ChartW ×
// trafficH: a line per series (the draw in total, or each sensor), the
// contracted power and the thresholds as dashed lines, and its figures.
type FacilityChart struct {
	ID     string // unique on the page
	Range  string
	Title  string
	Unit   string
	Empty  bool
	Lines  []FacilityLine
	Limits []FacilityLimit
	YTicks []ChartTick
	XTicks []ChartTick
	Zone   string
}

// FacilityLine is one series of a chart: its runs of points without a
// gap, and its figures over the chart (now, mean, lowest, highest).
type FacilityLine struct {
	Name             string
	Class            string
	Runs             []string
	HasNow           bool
	Now, Avg, Lo, Hi int64
}

// FacilityLimit is a horizontal line: the contracted power, a high or a
// low threshold.
type FacilityLimit struct {
	Kind  string // contract, high, low
	Y     string
	Milli int64
}

// FacilitySeriesIn is one series to draw.
type FacilitySeriesIn struct {
	Name   string
	Points []models.FacilityPoint
}

// FacilityLimitIn is one limit to draw.
type FacilityLimitIn struct {
	Kind  string
	Milli int64
}

// BuildFacilityChart lays out series (in thousandths of unit, steps of
// step) over [from, to), with limits; maxGap is the longest stretch
// without a point a line bridges.
func BuildFacilityChart(id, rng, title, unit string, series []FacilitySeriesIn, limits []FacilityLimitIn, from, to time.Time, step, maxGap time.Duration, loc *time.Location) FacilityChart {
	if loc == nil {
		loc = time.UTC
	}
	ch := FacilityChart{ID: id, Range: rng, Title: title, Unit: unit, Zone: loc.String(), Empty: true}
	span := to.Sub(from)
	if span <= 0 || step <= 0 {
		return ch
	}
	x := trafficX(from, span)
	// The axis runs from zero, or from below the lowest value or limit
	// when one is below zero (a cold room, a low threshold of -5 °C).
	top, bot := int64(0), int64(0)
	for _, s := range series {
		for _, p := range s.Points {
			if p.N > 0 && !p.Start.Before(from) && p.Start.Before(to) {
				top, bot = max(top, p.Avg()), min(bot, p.Avg())
				ch.Empty = false
			}
		}
	}
	for _, l := range limits {
		top, bot = max(top, l.Milli), min(bot, l.Milli)
	}
	scale, tick := niceScale(math.Max(float64(top-bot)/1000, 1))
	lo := 0.0
	if bot < 0 {
		lo = -math.Ceil(float64(-bot)/1000/tick) * tick
		scale = math.Max(scale, math.Ceil((float64(top)/1000-lo)/tick)*tick)
	}
	y := func(milli int64) float64 {
		v := trafficBot - (float64(milli)/1000-lo)/scale*(trafficBot-trafficTop)
		return math.Max(trafficTop, math.Min(trafficBot, v))
	}
	for v := 0.0; v <= scale+tick/2; v += tick {
		ch.YTicks = append(ch.YTicks, ChartTick{Pos: f1(trafficBot - v/scale*(trafficBot-trafficTop)), Label: MilliText(int64(math.Round((lo+v)*1000)), unit)})
	}
	ch.XTicks = trafficTicks(rng, from, to, loc, func(t time.Time) string { return f1(x(t)) })
	for _, l := range limits {
		ch.Limits = append(ch.Limits, FacilityLimit{Kind: l.Kind, Y: f1(y(l.Milli)), Milli: l.Milli})
	}
	for i, s := range series {
		line := FacilityLine{Name: s.Name, Class: fmt.Sprintf("f-line f-l%d", i%4+1)}
		var run []string
		var prevEnd, lastStart time.Time
		var sum int64
		n := 0
		flush := func() {
			if len(run) > 0 {
				line.Runs = append(line.Runs, strings.Join(run, " "))
			}
			run = nil
		}
		for _, p := range s.Points {
			if p.N == 0 || p.Start.Before(from) || !p.Start.Before(to) {
				continue
			}
			avg := p.Avg()
			if n == 0 || avg < line.Lo {
				line.Lo = avg
			}
			if n == 0 || avg > line.Hi {
				line.Hi = avg
			}
			n++
			sum += avg
			line.Now, lastStart = avg, p.Start
			if len(run) > 0 && p.Start.Sub(prevEnd) > maxGap {
				flush()
			}
			x0, x1 := x(p.Start), x(p.Start.Add(step))
			if len(run) > 0 && p.Start.After(prevEnd) {
				x0 = x(prevEnd)
			}
			yv := f1(y(avg))
			run = append(run, f1(x0)+","+yv, f1(x1)+","+yv)
			prevEnd = p.Start.Add(step)
		}
		flush()
		if n > 0 {
			line.Avg = sum / int64(n)
			line.HasNow = !lastStart.Add(step).Add(max(maxGap, step)).Before(to)
		}
		ch.Lines = append(ch.Lines, line)
	}
	return ch
}

// facilityDesc is a chart's figures in words, for screen readers.
func facilityDesc(ctx context.Context, ch FacilityChart) string {
	if ch.Empty {
		return T(ctx, "facility.no_data")
	}
	var parts []string
	for _, l := range ch.Lines {
		if l.Runs == nil {
			continue
		}
		parts = append(parts, T(ctx, "facility.chart_desc", l.Name, lineNow(l, ch.Unit), MilliText(l.Avg, ch.Unit), MilliText(l.Lo, ch.Unit), MilliText(l.Hi, ch.Unit)))
	}
	return strings.Join(parts, " ")
}

func lineNow(l FacilityLine, unit string) string {
	if !l.HasNow {
		return "—"
	}
	return MilliText(l.Now, unit)
}

// contractPowerInput is a contract's power as its form shows it: "" for
// none stated.
func contractPowerInput(w int64) string {
	if w <= 0 {
		return ""
	}
	return strconv.FormatInt(w, 10)
}

// ContractPower is a contract's power in words: "5 kW", or that it
// states none.
func ContractPower(ctx context.Context, w int64) string {
	if w <= 0 {
		return T(ctx, "contracts.power_none")
	}
	return MilliText(w*1000, "W")
}

// RemoveHintKey says what removing device sw deletes: a network
// device's ports and traffic, a PDU's or sensor's meters and readings.
func RemoveHintKey(sw *models.Switch) string {
	if sw.IsFacility() {
		return "facility.remove_device_hint"
	}
	return "network.remove_hint"
}

// removeHints are the confirmation's lines of removing device sw.
func removeHints(ctx context.Context, sw *models.Switch) []string {
	if sw.IsFacility() {
		return []string{T(ctx, "facility.remove_device_hint")}
	}
	return []string{T(ctx, "network.remove_hint"), T(ctx, "network.outage_end_hint")}
}

// cabinetKey is models.CabinetKey, for templates that import no models.
func cabinetKey(slug, cabinet string) string { return models.CabinetKey(slug, cabinet) }
