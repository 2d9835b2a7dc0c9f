package views

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// Chart ranges of the device page.
const (
	Range24h = "24h"
	Range30d = "30d"
	Range1y  = "1y"
)

// ChartRanges lists the ranges in the order the page offers them.
var ChartRanges = []string{Range24h, Range30d, Range1y}

// ChartSpan is how far back a range reaches.
func ChartSpan(r string) time.Duration {
	switch r {
	case Range30d:
		return 30 * 24 * time.Hour
	case Range1y:
		return 365 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// ChartPoint is one bucket of the latency chart: the probes of [Start, End)
// with their round-trip spread in microseconds (when any succeeded).
type ChartPoint struct {
	Start, End          time.Time
	Probes, Failures    int
	MinUs, MedUs, MaxUs int
	HasRTT              bool
}

// Loss is the share of failed probes, 0..1.
func (p ChartPoint) Loss() float64 {
	if p.Probes == 0 {
		return 0
	}
	return float64(p.Failures) / float64(p.Probes)
}

// PointsFromResults buckets raw results into steps of step from from.
func PointsFromResults(rs []models.ProbeResult, from, to time.Time, step time.Duration) []ChartPoint {
	type bucket struct {
		p    ChartPoint
		rtts []int
	}
	byStart := map[int64]*bucket{}
	var order []int64
	for _, r := range rs {
		if r.At.Before(from) || !r.At.Before(to) {
			continue
		}
		start := from.Add(r.At.Sub(from) / step * step)
		k := start.UnixNano()
		b := byStart[k]
		if b == nil {
			b = &bucket{p: ChartPoint{Start: start, End: start.Add(step)}}
			byStart[k] = b
			order = append(order, k)
		}
		b.p.Probes++
		if !r.OK {
			b.p.Failures++
			continue
		}
		b.rtts = append(b.rtts, r.RTTus)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	out := make([]ChartPoint, 0, len(order))
	for _, k := range order {
		b := byStart[k]
		if n := len(b.rtts); n > 0 {
			sort.Ints(b.rtts)
			b.p.HasRTT = true
			b.p.MinUs, b.p.MedUs, b.p.MaxUs = b.rtts[0], b.rtts[(n-1)/2], b.rtts[n-1]
		}
		out = append(out, b.p)
	}
	return out
}

// PointsFromRollups turns hourly or daily rollups into chart points; the
// median is the mean until the rollup's median has been filled in.
func PointsFromRollups(rs []models.Rollup) []ChartPoint {
	out := make([]ChartPoint, 0, len(rs))
	for _, r := range rs {
		length := time.Hour
		if r.Period == "d" {
			length = 24 * time.Hour
		}
		p := ChartPoint{Start: r.Start, End: r.Start.Add(length), Probes: r.Probes, Failures: r.Failures}
		if r.RTTCount > 0 {
			p.HasRTT = true
			p.MinUs, p.MaxUs, p.MedUs = r.RTTMinUs, r.RTTMaxUs, r.RTTMedUs
			if p.MedUs == 0 {
				p.MedUs = r.AvgUs()
			}
		}
		out = append(out, p)
	}
	return out
}

// Chart is a latency and loss chart laid out for an SVG of ChartW×ChartH:
// the min–max band and the median line of each run of buckets without a
// gap, loss marks in a lane under the plot, and a hover area per bucket.
type Chart struct {
	Range  string
	Empty  bool
	Bands  []string // polygon points
	Lines  []string // polyline points
	Loss   []ChartMark
	Down   []ChartMark // buckets where every probe failed, full height
	Hits   []ChartMark
	YTicks []ChartTick
	XTicks []ChartTick
	Zone   string
}

// ChartMark is a rectangle of the chart, with the bucket it stands for.
type ChartMark struct {
	X, Y, W, H string
	Class      string
	Point      ChartPoint
}

// ChartTick is an axis label and its grid line.
type ChartTick struct {
	Pos, Label string
}

// The chart's geometry, in SVG user units.
const (
	ChartW     = 1000
	ChartH     = 282
	chartLeft  = 62.0
	chartRight = 990.0
	chartTop   = 12.0
	chartBot   = 222.0
	laneTop    = 230.0
	laneH      = 12.0
	xLabelY    = 266.0
)

// Chart geometry as strings for the template.
var (
	chartL       = f1(chartLeft)
	chartR       = f1(chartRight)
	chartT       = f1(chartTop)
	chartB       = f1(chartBot)
	chartPlotW   = f1(chartRight - chartLeft)
	chartLaneY   = f1(laneTop)
	chartLaneH   = f1(laneH)
	chartXLabelY = f1(xLabelY)
	chartYLabelX = f1(chartLeft - 8)
	chartViewBox = fmt.Sprintf("0 0 %d %d", ChartW, ChartH)
)

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// BuildChart lays out points over [from, to). maxGap is the longest
// stretch without data that the line bridges (about two probe intervals);
// longer ones leave a gap. Axis labels are in loc.
func BuildChart(rng string, points []ChartPoint, from, to time.Time, maxGap time.Duration, loc *time.Location) Chart {
	if loc == nil {
		loc = time.UTC
	}
	ch := Chart{Range: rng, Zone: loc.String()}
	span := to.Sub(from)
	if span <= 0 {
		ch.Empty = true
		return ch
	}
	x := func(t time.Time) float64 {
		v := chartLeft + float64(t.Sub(from))/float64(span)*(chartRight-chartLeft)
		return math.Max(chartLeft, math.Min(chartRight, v))
	}
	maxMs := 0.0
	for _, p := range points {
		if p.HasRTT {
			maxMs = math.Max(maxMs, float64(p.MaxUs)/1000)
		}
	}
	ch.Empty = len(points) == 0
	top, step := niceScale(maxMs)
	y := func(us int) float64 {
		return chartBot - float64(us)/1000/top*(chartBot-chartTop)
	}
	for v := 0.0; v <= top+step/2; v += step {
		ch.YTicks = append(ch.YTicks, ChartTick{Pos: f1(chartBot - v/top*(chartBot-chartTop)), Label: msLabel(v)})
	}
	ch.XTicks = timeTicks(rng, from, to, loc, func(t time.Time) string { return f1(x(t)) })

	// Runs of buckets with a round trip and no long gap become one band
	// and one line, drawn as steps so each bucket shows its own width.
	var upper, lower, line []string
	flush := func() {
		if len(upper) > 0 {
			for i := len(lower) - 1; i >= 0; i-- {
				upper = append(upper, lower[i])
			}
			ch.Bands = append(ch.Bands, strings.Join(upper, " "))
			ch.Lines = append(ch.Lines, strings.Join(line, " "))
		}
		upper, lower, line = nil, nil, nil
	}
	var prevEnd time.Time
	for _, p := range points {
		x0, x1 := x(p.Start), x(p.End)
		ch.Hits = append(ch.Hits, ChartMark{X: f1(x0), Y: f1(chartTop), W: f1(math.Max(x1-x0, 0.5)),
			H: f1(laneTop + laneH - chartTop), Point: p})
		if p.Failures > 0 {
			cls := lossClass(p.Loss())
			ch.Loss = append(ch.Loss, ChartMark{X: f1(x0), Y: f1(laneTop), W: f1(math.Max(x1-x0, 1)), H: f1(laneH), Class: cls, Point: p})
			if p.Failures == p.Probes {
				ch.Down = append(ch.Down, ChartMark{X: f1(x0), Y: f1(chartTop), W: f1(math.Max(x1-x0, 1)), H: f1(chartBot - chartTop), Class: "down", Point: p})
			}
		}
		if !p.HasRTT {
			flush()
			continue
		}
		if len(upper) > 0 && p.Start.Sub(prevEnd) > maxGap {
			flush()
		}
		// Bridge a short gap: this bucket's step reaches back to the last one.
		if len(upper) > 0 && p.Start.After(prevEnd) {
			x0 = x(prevEnd)
		}
		yMax, yMin, yMed := f1(y(p.MaxUs)), f1(y(p.MinUs)), f1(y(p.MedUs))
		// A band of no height still shows as a hairline.
		if yMax == yMin {
			yMax = f1(y(p.MaxUs) - 0.6)
		}
		upper = append(upper, f1(x0)+","+yMax, f1(x1)+","+yMax)
		lower = append(lower, f1(x0)+","+yMin, f1(x1)+","+yMin)
		line = append(line, f1(x0)+","+yMed, f1(x1)+","+yMed)
		prevEnd = p.End
	}
	flush()
	return ch
}

// lossClass buckets a loss share for colouring.
func lossClass(loss float64) string {
	switch {
	case loss >= 1:
		return "loss loss-4"
	case loss >= 0.2:
		return "loss loss-3"
	case loss >= 0.05:
		return "loss loss-2"
	}
	return "loss loss-1"
}

// niceScale returns a round top for the y axis above maxMs and its step.
func niceScale(maxMs float64) (top, step float64) {
	if maxMs <= 0 {
		return 1, 0.25
	}
	raw := maxMs * 1.08 / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	return math.Ceil(maxMs*1.08/step) * step, step
}

func msLabel(v float64) string {
	return fmt.Sprintf("%g ms", math.Round(v*1000)/1000)
}

// timeTicks are the labels of the time axis in loc: every three hours over
// a day, every third day of the month over 30 days, each month over a year.
func timeTicks(rng string, from, to time.Time, loc *time.Location, pos func(time.Time) string) []ChartTick {
	var out []ChartTick
	add := func(t time.Time, label string) {
		if t.After(from) && t.Before(to) {
			out = append(out, ChartTick{Pos: pos(t), Label: label})
		}
	}
	f := from.In(loc)
	switch rng {
	case Range1y:
		for t := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc); t.Before(to); t = t.AddDate(0, 1, 0) {
			add(t, t.Format("2006-01"))
		}
	case Range30d:
		for t := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc); t.Before(to); t = t.AddDate(0, 0, 1) {
			if d := t.Day(); (d-1)%3 == 0 && d < 29 {
				add(t, t.Format("01-02"))
			}
		}
	default:
		for t := time.Date(f.Year(), f.Month(), f.Day(), f.Hour(), 0, 0, 0, loc); t.Before(to); t = t.Add(time.Hour) {
			switch {
			case t.Hour() == 0:
				add(t, t.Format("01-02"))
			case t.Hour()%3 == 0:
				add(t, t.Format("15:04"))
			}
		}
	}
	return out
}

// chartTip is the tooltip of one bucket.
func chartTip(ctx context.Context, rng string, p ChartPoint) string {
	loc := Req(ctx).Location
	if loc == nil {
		loc = time.UTC
	}
	var when string
	switch rng {
	case Range1y:
		when = p.Start.In(loc).Format("2006-01-02")
	default:
		when = p.Start.In(loc).Format("2006-01-02 15:04") + "–" + p.End.In(loc).Format("15:04")
	}
	loss := T(ctx, "chart.tip_loss", fmt.Sprintf("%.1f%%", 100*p.Loss()), p.Failures, p.Probes)
	if !p.HasRTT {
		return when + "\n" + loss
	}
	return when + "\n" + T(ctx, "chart.tip_rtt", RTT(p.MedUs), RTT(p.MinUs), RTT(p.MaxUs)) + "\n" + loss
}
