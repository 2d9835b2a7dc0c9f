package views

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// A cold room's temperature below zero, and a low threshold below zero,
// are drawn where they are, under the zero line, with the axis labelled
// down to them; not flattened onto the zero line.
func TestFacilityChartBelowZero(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	step := 5 * time.Minute
	pt := func(i int, milli int64) models.FacilityPoint {
		return models.FacilityPoint{Start: from.Add(time.Duration(i) * step), N: 1, Min: milli, Max: milli, Sum: milli}
	}
	ch := BuildFacilityChart("temperature", TrafficDay, "t", "°C",
		[]FacilitySeriesIn{{Name: "cold room", Points: []models.FacilityPoint{pt(0, -18_000), pt(1, -5_000), pt(2, 4_000)}}},
		[]FacilityLimitIn{{Kind: "low", Milli: -25_000}, {Kind: "high", Milli: 8_000}}, from, to, step, 2*step, time.UTC)
	if ch.Empty || len(ch.Lines) != 1 || len(ch.Lines[0].Runs) != 1 {
		t.Fatalf("chart %+v", ch)
	}
	ys := map[int64]float64{}
	for _, l := range ch.Limits {
		y, _ := strconv.ParseFloat(l.Y, 64)
		ys[l.Milli] = y
	}
	// Points: pairs "x,y"; the first two are -18, the next two -5, then 4.
	var pys []float64
	for _, p := range strings.Fields(ch.Lines[0].Runs[0]) {
		_, y, _ := strings.Cut(p, ",")
		v, _ := strconv.ParseFloat(y, 64)
		pys = append(pys, v)
	}
	if len(pys) != 6 {
		t.Fatalf("points %v", pys)
	}
	// SVG y grows downwards: colder is lower, every value distinct.
	if !(ys[-25_000] > pys[0] && pys[0] > pys[2] && pys[2] > pys[4] && pys[4] > ys[8_000]) {
		t.Errorf("low limit %.1f, -18 °C %.1f, -5 °C %.1f, 4 °C %.1f, high limit %.1f: not in order", ys[-25_000], pys[0], pys[2], pys[4], ys[8_000])
	}
	if ch.YTicks[0].Label == "0 °C" || !strings.HasPrefix(ch.YTicks[0].Label, "-") {
		t.Errorf("the axis starts at %q, want below -25 °C", ch.YTicks[0].Label)
	}
	// Nothing below zero: the axis starts at zero as before.
	ch = BuildFacilityChart("humidity", TrafficDay, "h", "%RH",
		[]FacilitySeriesIn{{Name: "rh", Points: []models.FacilityPoint{pt(0, 40_000)}}}, nil, from, to, step, 2*step, time.UTC)
	if ch.YTicks[0].Label != "0 %RH" {
		t.Errorf("axis starts at %q, want 0 %%RH", ch.YTicks[0].Label)
	}
}
