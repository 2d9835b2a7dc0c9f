package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

func TestBitRate(t *testing.T) {
	for bps, want := range map[int64]string{
		0: "0 b/s", 999: "999 b/s", 1000: "1 kb/s", 1234: "1.23 kb/s", 12_345: "12.3 kb/s", 999_499: "999 kb/s",
		999_999: "1 Mb/s", 80_000_000: "80 Mb/s", 125_000_000: "125 Mb/s", 1_500_000_000: "1.5 Gb/s",
		10_000_000_000: "10 Gb/s", 65_664_000: "65.7 Mb/s", 999_500_000: "1 Gb/s", 400_000_000_000: "400 Gb/s", 2_500_000_000_000: "2.5 Tb/s", -1500: "-1.5 kb/s",
	} {
		if got := BitRate(bps); got != want {
			t.Errorf("BitRate(%d) = %q, want %q", bps, got, want)
		}
	}
}

// TestTrafficChartDrawsRunsWithUnits lays out a day of 5-minute points
// with a short gap (bridged) and a long one (not), a point of a port
// found down, and renders the chart: an area and a line per run, with two
// points per step (and two on the base line closing each area), rate labels
// in b/s units, time labels in the provider's zone, and the figures in the
// SVG's description.
func TestTrafficChartDrawsRunsWithUnits(t *testing.T) {
	step := 5 * time.Minute
	to := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	from := to.Add(-24 * time.Hour)
	pt := func(i int, in, out int64) models.TrafficPoint {
		return models.TrafficPoint{Start: from.Add(time.Duration(i) * step), InAvgBps: in, OutAvgBps: out,
			InMaxBps: in + 1000, OutMaxBps: out, Samples: 1, Ms: 300_000, InOctets: in * 300_000 / 8000, OutOctets: out * 300_000 / 8000}
	}
	var points []models.TrafficPoint
	for i := 0; i < 10; i++ { // run 1: 0–9, and 11 after one missing step
		points = append(points, pt(i, 400_000_000, 40_000_000))
	}
	points = append(points, pt(11, 600_000_000, 50_000_000))
	down := models.TrafficPoint{Start: from.Add(20 * step), Down: 1} // no valid sample: a gap, shaded
	points = append(points, down)
	for i := 100; i < 105; i++ { // run 2, far away
		points = append(points, pt(i, 200_000_000, 20_000_000))
	}
	points = append(points, pt(287, 100_000_000, 10_000_000)) // run 3: the newest step
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ch := BuildTrafficChart(TrafficDay, points, from, to, step, step, shanghai)
	if ch.Empty || len(ch.In) != 3 || len(ch.Out) != 3 || len(ch.Down) != 1 {
		t.Fatalf("%d areas, %d lines, %d down marks; want 3, 3, 1", len(ch.In), len(ch.Out), len(ch.Down))
	}
	for i, steps := range []int{11, 5, 1} {
		if n := len(strings.Fields(ch.In[i])); n != 2*steps+2 {
			t.Errorf("area %d has %d points, want %d", i, n, 2*steps+2)
		}
		if n := len(strings.Fields(ch.Out[i])); n != 2*steps {
			t.Errorf("line %d has %d points, want %d", i, n, 2*steps)
		}
	}
	// The bridged step: point 11's area starts where point 9's ends.
	if f := strings.Fields(ch.In[0]); !strings.HasPrefix(f[20], strings.SplitN(f[19], ",", 2)[0]+",") {
		t.Errorf("the gap of one step is not bridged: %v", f[18:22])
	}
	// The area closes on the base line.
	if f := strings.Fields(ch.In[0]); !strings.HasSuffix(f[len(f)-1], ","+trafficB) || !strings.HasPrefix(f[len(f)-1], trafficL+",") {
		t.Errorf("the area does not close on the base line at the left edge: %v", f[len(f)-2:])
	}
	var ys []string
	for _, y := range ch.YTicks {
		ys = append(ys, y.Label)
	}
	if got := strings.Join(ys, " "); got != "0 b/s 200 Mb/s 400 Mb/s 600 Mb/s 800 Mb/s" {
		t.Errorf("rate labels %q", got)
	}
	var xs []string
	for _, x := range ch.XTicks {
		xs = append(xs, x.Label)
	}
	// 12:00 UTC is 20:00 in Shanghai: labels every three hours there.
	if got := strings.Join(xs, " "); got != "21:00 11-02 03:00 06:00 09:00 12:00 15:00 18:00" {
		t.Errorf("time labels %q", got)
	}
	total := int64(10*400_000_000 + 600_000_000 + 5*200_000_000 + 100_000_000)
	if !ch.HasNow || ch.NowIn != 100_000_000 || ch.NowOut != 10_000_000 || ch.PeakIn != 600_001_000 ||
		ch.AvgIn != total/17 || ch.PeakOut != 50_000_000 {
		t.Errorf("figures: now %v %d/%d, average %d/%d, peak %d/%d", ch.HasNow, ch.NowIn, ch.NowOut, ch.AvgIn, ch.AvgOut, ch.PeakIn, ch.PeakOut)
	}

	ctx := WithRequest(context.Background(), &Request{Lang: "en", T: locales.For("en"), Location: shanghai})
	var b strings.Builder
	if err := trafficChart(ch, `Gi0/1 <"x">`).Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{`<svg viewBox="0 0 1000 268" role="img" aria-labelledby="tc-day-t tc-day-d">`,
		`<title id="tc-day-t">Traffic of port Gi0/1 &lt;&#34;x&#34;&gt;: Day (5-minute samples)</title>`,
		`<desc id="tc-day-d">In: current 100 Mb/s, average ` + BitRate(total/17) + `, peak 600 Mb/s. Out: current 10 Mb/s,`,
		">400 Mb/s</text>", ">11-02</text>", "Asia/Shanghai"} {
		if !strings.Contains(html, want) {
			t.Errorf("the chart lacks %q:\n%s", want, html)
		}
	}
	// On a phone (the stylesheet hides .alt there) every other rate label
	// is left out, counting down from the top one, and 0 b/s always: the
	// chart is short there and its labels large.
	if len(ch.YTicks) < 4 {
		t.Fatalf("rate labels %+v", ch.YTicks)
	}
	for i, tk := range ch.YTicks {
		hidden := strings.Contains(html, `<text class="ylab alt" x="76.0" y="`+tk.Pos+`"`)
		shown := strings.Contains(html, `<text class="ylab" x="76.0" y="`+tk.Pos+`"`)
		if want := i == 0 || (len(ch.YTicks)-1-i)%2 == 1; hidden != want || shown == want {
			t.Errorf("rate label %s (%d of %d): hidden on a phone %v, want %v", tk.Label, i, len(ch.YTicks), hidden, want)
		}
	}
	if n := strings.Count(html, "<polygon class=\"t-in\""); n != 3 {
		t.Errorf("%d areas drawn, want 3", n)
	}
	if n := strings.Count(html, "<polyline class=\"t-out\""); n != 3 {
		t.Errorf("%d lines drawn, want 3", n)
	}

	// A long-ago last point is not the current rate; no points at all is
	// an empty chart that says so.
	old := BuildTrafficChart(TrafficDay, points[:11], from, to, step, step, time.UTC)
	if old.HasNow || old.Empty {
		t.Errorf("a chart whose newest point is 23 hours old: now %v, empty %v", old.HasNow, old.Empty)
	}
	empty := BuildTrafficChart(TrafficYear, nil, from, to, 24*time.Hour, 24*time.Hour, time.UTC)
	b.Reset()
	if err := trafficChart(empty, "Gi0/1").Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if !empty.Empty || !strings.Contains(b.String(), T(ctx, "traffic.no_data")) || strings.Contains(b.String(), "<polygon") {
		t.Errorf("an empty chart: %s", b.String())
	}
}

// TestTrafficTicksOfEachRange: a week labels each day, a month every third
// day, a year every other month.
func TestTrafficTicksOfEachRange(t *testing.T) {
	to := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	labels := func(rng string) string {
		span, _ := TrafficSpan(rng)
		var out []string
		for _, x := range trafficTicks(rng, to.Add(-span), to, time.UTC, func(time.Time) string { return "" }) {
			out = append(out, x.Label)
		}
		return strings.Join(out, " ")
	}
	for rng, want := range map[string]string{
		TrafficWeek:  "10-27 10-28 10-29 10-30 10-31 11-01 11-02",
		TrafficMonth: "10-04 10-07 10-10 10-13 10-16 10-19 10-22 10-25 10-28 11-01",
		TrafficYear:  "2026-01 2026-03 2026-05 2026-07 2026-09 2026-11",
	} {
		if got := labels(rng); got != want {
			t.Errorf("%s: %q, want %q", rng, got, want)
		}
	}
}

// On a phone the time labels are three times larger: every other one is
// left out, and one whose label would run past the right edge.
func TestTrafficTimeLabelsLeftOutOnPhones(t *testing.T) {
	for _, c := range []struct {
		i    int
		pos  string
		want bool
	}{{0, "120.0", false}, {1, "250.0", true}, {2, "500.0", false}, {4, "940.0", false}, {6, "960.0", true}, {7, "980.0", true}} {
		if got := trafficXAlt(c.i, ChartTick{Pos: c.pos, Label: "12-07"}); got != c.want {
			t.Errorf("label %d at %s left out on a phone: %v, want %v", c.i, c.pos, got, c.want)
		}
	}
}
