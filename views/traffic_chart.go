package views

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// BitRate shows a rate in bits per second with a decimal unit (b/s, kb/s,
// Mb/s, Gb/s, Tb/s) and three significant digits: "950 b/s", "12.5 Mb/s",
// "1 Gb/s".
func BitRate(bps int64) string {
	units := []string{"b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"}
	if bps < 1000 && bps > -1000 {
		return strconv.FormatInt(bps, 10) + " b/s"
	}
	v, i := float64(bps), 0
	for math.Abs(v) >= 999.5 && i < len(units)-1 {
		v /= 1000
		i++
	}
	prec := 0
	switch a := math.Abs(v); {
	case a < 9.995:
		prec = 2
	case a < 99.95:
		prec = 1
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + " " + units[i]
}

// The traffic charts of a port, MRTG's four.
const (
	TrafficDay   = "day"
	TrafficWeek  = "week"
	TrafficMonth = "month"
	TrafficYear  = "year"
)

// TrafficRanges lists the charts in the order the port page shows them.
var TrafficRanges = []string{TrafficDay, TrafficWeek, TrafficMonth, TrafficYear}

// TrafficSpan is how far back a chart reaches and the step of its points:
// a day of the 5-minute samples, a week of 30-minute means, a month of
// 2-hour means and a year of daily means.
func TrafficSpan(rng string) (span, step time.Duration) {
	switch rng {
	case TrafficWeek:
		return 7 * 24 * time.Hour, 30 * time.Minute
	case TrafficMonth:
		return 30 * 24 * time.Hour, 2 * time.Hour
	case TrafficYear:
		return 365 * 24 * time.Hour, 24 * time.Hour
	}
	return 24 * time.Hour, 5 * time.Minute
}

// TrafficChart is one traffic chart laid out for an SVG of ChartW ×
// trafficH, MRTG-style: incoming traffic as a filled area, outgoing as a
// line (each a run of steps without a gap), the steps where the port was
// found down shaded, and the chart's figures.
type TrafficChart struct {
	Range  string
	Empty  bool
	In     []string // polygon points, one per run
	Out    []string // polyline points, one per run
	Down   []ChartMark
	YTicks []ChartTick
	XTicks []ChartTick
	Zone   string
	// HasNow says the newest point is recent enough to be the current
	// rate (NowIn, NowOut); Avg and Peak cover the whole chart.
	HasNow          bool
	NowIn, NowOut   int64
	AvgIn, AvgOut   int64
	PeakIn, PeakOut int64
}

// The traffic chart's geometry, in SVG user units (as wide as the latency
// chart, with room on the left for rates such as "1.25 Gb/s").
const (
	trafficH     = 268
	trafficLeft  = 84.0
	trafficRight = 990.0
	trafficTop   = 34.0 // room above for the top rate label, large on phones
	trafficBot   = 210.0
	trafficXLabY = 254.0
)

// Traffic chart geometry as strings for the template.
var (
	trafficL       = f1(trafficLeft)
	trafficR       = f1(trafficRight)
	trafficT       = f1(trafficTop)
	trafficB       = f1(trafficBot)
	trafficXLabelY = f1(trafficXLabY)
	trafficYLabelX = f1(trafficLeft - 8)
	trafficViewBox = fmt.Sprintf("0 0 %d %d", ChartW, trafficH)
)

// BuildTrafficChart lays out points (TrafficSeries in steps of step) over
// [from, to). maxGap is the longest stretch without a point that the area
// and the line bridge (the polling interval, at least a step); longer ones
// leave a gap. Axis labels are in loc.
func BuildTrafficChart(rng string, points []models.TrafficPoint, from, to time.Time, step, maxGap time.Duration, loc *time.Location) TrafficChart {
	if loc == nil {
		loc = time.UTC
	}
	ch := TrafficChart{Range: rng, Zone: loc.String(), Empty: true}
	span := to.Sub(from)
	if span <= 0 || step <= 0 {
		return ch
	}
	x := trafficX(from, span)
	var top int64
	var ms, inOct, outOct int64
	var last *models.TrafficPoint
	for i := range points {
		p := &points[i]
		if p.Start.Before(from) || !p.Start.Before(to) || p.Samples == 0 {
			continue
		}
		top = max(top, p.InAvgBps, p.OutAvgBps)
		ms, inOct, outOct = ms+p.Ms, inOct+p.InOctets, outOct+p.OutOctets
		ch.PeakIn, ch.PeakOut = max(ch.PeakIn, p.InMaxBps), max(ch.PeakOut, p.OutMaxBps)
		last = p
		ch.Empty = false
	}
	if ms > 0 {
		ch.AvgIn, ch.AvgOut = inOct*8000/ms, outOct*8000/ms
	}
	if last != nil && !last.Start.Add(step).Add(max(maxGap, step)).Before(to) {
		ch.HasNow, ch.NowIn, ch.NowOut = true, last.InAvgBps, last.OutAvgBps
	}
	// A port that carried nothing still gets a scale of a few kb/s.
	scale, tick := niceScale(float64(max(top, 1000)))
	y := func(bps int64) float64 { return trafficBot - float64(bps)/scale*(trafficBot-trafficTop) }
	for v := 0.0; v <= scale+tick/2; v += tick {
		ch.YTicks = append(ch.YTicks, ChartTick{Pos: f1(trafficBot - v/scale*(trafficBot-trafficTop)), Label: BitRate(int64(math.Round(v)))})
	}
	ch.XTicks = trafficTicks(rng, from, to, loc, func(t time.Time) string { return f1(x(t)) })

	var area, line []string
	firstX := ""
	flush := func() {
		if len(line) > 0 {
			lastX := strings.SplitN(line[len(line)-1], ",", 2)[0]
			area = append(area, lastX+","+trafficB, firstX+","+trafficB)
			ch.In = append(ch.In, strings.Join(area, " "))
			ch.Out = append(ch.Out, strings.Join(line, " "))
		}
		area, line = nil, nil
	}
	var prevEnd time.Time
	for _, p := range points {
		if p.Start.Before(from) || !p.Start.Before(to) {
			continue
		}
		end := p.Start.Add(step)
		x0, x1 := x(p.Start), x(end)
		if p.Down > 0 {
			ch.Down = append(ch.Down, ChartMark{X: f1(x0), Y: f1(trafficTop), W: f1(math.Max(x1-x0, 1)), H: f1(trafficBot - trafficTop), Class: "down"})
		}
		if p.Samples == 0 {
			flush()
			continue
		}
		if len(line) > 0 && p.Start.Sub(prevEnd) > maxGap {
			flush()
		}
		// Bridge a short gap: this step reaches back to the last one.
		if len(line) > 0 && p.Start.After(prevEnd) {
			x0 = x(prevEnd)
		}
		if len(line) == 0 {
			firstX = f1(x0)
		}
		yIn, yOut := f1(y(p.InAvgBps)), f1(y(p.OutAvgBps))
		area = append(area, f1(x0)+","+yIn, f1(x1)+","+yIn)
		line = append(line, f1(x0)+","+yOut, f1(x1)+","+yOut)
		prevEnd = end
	}
	flush()
	return ch
}

// trafficX places time t of a chart over [from, from+span) on the x axis
// of a traffic-sized chart, clamped to the plot.
func trafficX(from time.Time, span time.Duration) func(time.Time) float64 {
	return func(t time.Time) float64 {
		v := trafficLeft + float64(t.Sub(from))/float64(span)*(trafficRight-trafficLeft)
		return math.Max(trafficLeft, math.Min(trafficRight, v))
	}
}

// trafficTicks are the time axis labels of a traffic chart in loc: every
// three hours over a day, each day over a week, every third day over a
// month, every other month over a year.
func trafficTicks(rng string, from, to time.Time, loc *time.Location, pos func(time.Time) string) []ChartTick {
	switch rng {
	case TrafficWeek:
		var out []ChartTick
		f := from.In(loc)
		for t := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc); t.Before(to); t = t.AddDate(0, 0, 1) {
			if t.After(from) {
				out = append(out, ChartTick{Pos: pos(t), Label: t.Format("01-02")})
			}
		}
		return out
	case TrafficMonth:
		return timeTicks(Range30d, from, to, loc, pos)
	case TrafficYear:
		// Every other month: a phone shows every other label, and twelve
		// months' "2006-01" do not fit there.
		var out []ChartTick
		f := from.In(loc)
		for t := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc); t.Before(to); t = t.AddDate(0, 1, 0) {
			if t.After(from) && t.Month()%2 == 1 {
				out = append(out, ChartTick{Pos: pos(t), Label: t.Format("2006-01")})
			}
		}
		return out
	}
	return timeTicks(Range24h, from, to, loc, pos)
}

// trafficXAlt tells whether time label i is left out on a phone, where
// labels are drawn three times larger: every other one, and one so near
// the right edge that it would be cut off there.
func trafficXAlt(i int, t ChartTick) bool {
	x, err := strconv.ParseFloat(t.Pos, 64)
	return i%2 == 1 || err != nil || x > ChartW-55
}

// trafficDesc is a chart's figures in words, for screen readers.
func trafficDesc(ctx context.Context, ch TrafficChart) string {
	if ch.Empty {
		return T(ctx, "traffic.no_data")
	}
	now := func(v int64) string {
		if !ch.HasNow {
			return "—"
		}
		return BitRate(v)
	}
	return T(ctx, "traffic.chart_desc", now(ch.NowIn), BitRate(ch.AvgIn), BitRate(ch.PeakIn),
		now(ch.NowOut), BitRate(ch.AvgOut), BitRate(ch.PeakOut))
}
