package views

import (
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

func TestPointsFromResults(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return from.Add(time.Duration(m) * time.Minute) }
	rs := []models.ProbeResult{
		{At: at(1), OK: true, RTTus: 300}, {At: at(2), OK: true, RTTus: 100}, {At: at(3), OK: true, RTTus: 200},
		{At: at(4), OK: false, Reason: models.ReasonTimeout},
		{At: at(31), OK: false},                                            // a bucket where everything failed
		{At: at(-1), OK: true, RTTus: 1}, {At: at(60), OK: true, RTTus: 1}, // outside [from, to)
	}
	ps := PointsFromResults(rs, from, at(60), 15*time.Minute)
	if len(ps) != 2 {
		t.Fatalf("points = %+v, want 2 buckets", ps)
	}
	if p := ps[0]; !p.Start.Equal(from) || !p.End.Equal(at(15)) || p.Probes != 4 || p.Failures != 1 ||
		!p.HasRTT || p.MinUs != 100 || p.MedUs != 200 || p.MaxUs != 300 {
		t.Errorf("first bucket = %+v", p)
	}
	if p := ps[1]; !p.Start.Equal(at(30)) || p.HasRTT || p.Loss() != 1 {
		t.Errorf("second bucket = %+v", p)
	}
}

func TestPointsFromRollupsUseTheMeanUntilTheMedianIsKnown(t *testing.T) {
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	ps := PointsFromRollups([]models.Rollup{
		{Period: "d", Start: start, Probes: 10, Failures: 2, RTTCount: 8, RTTSumUs: 8000, RTTMinUs: 500, RTTMaxUs: 2000},
		{Period: "d", Start: start.AddDate(0, 0, 1), Probes: 10, RTTCount: 10, RTTSumUs: 10000, RTTMinUs: 500, RTTMaxUs: 2000, RTTMedUs: 900},
	})
	if ps[0].MedUs != 1000 || ps[1].MedUs != 900 || !ps[0].End.Equal(start.AddDate(0, 0, 1)) || ps[0].Loss() != 0.2 {
		t.Errorf("points = %+v", ps)
	}
}

func TestBuildChart(t *testing.T) {
	from := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	step := 15 * time.Minute
	pt := func(i, probes, failures, us int) ChartPoint {
		s := from.Add(time.Duration(i) * step)
		return ChartPoint{Start: s, End: s.Add(step), Probes: probes, Failures: failures, HasRTT: failures < probes,
			MinUs: us / 2, MedUs: us, MaxUs: us * 2}
	}
	// Buckets 0–2 and 4 join (one bucket missing is bridged), 10 stands
	// alone after a long gap, 11 failed entirely.
	points := []ChartPoint{pt(0, 3, 0, 400), pt(1, 3, 1, 500), pt(2, 3, 0, 450), pt(4, 3, 0, 420), pt(10, 3, 0, 380), pt(11, 3, 3, 0)}
	ch := BuildChart(Range24h, points, from, to, step, time.UTC)
	if ch.Empty || len(ch.Bands) != 2 || len(ch.Lines) != 2 {
		t.Fatalf("bands %d, lines %d, want runs 0–4 and 10", len(ch.Bands), len(ch.Lines))
	}
	// The bridged run is one step line from bucket 0 to the end of bucket 4.
	if pts := strings.Fields(ch.Lines[0]); len(pts) != 8 || !strings.HasPrefix(pts[0], "62.0,") || !strings.HasPrefix(pts[7], "110.3,") {
		t.Errorf("first line %q", ch.Lines[0])
	}
	if len(ch.Hits) != len(points) {
		t.Errorf("%d hover areas, want one per bucket", len(ch.Hits))
	}
	if len(ch.Loss) != 2 || ch.Loss[0].Class != "loss loss-3" || ch.Loss[1].Class != "loss loss-4" || len(ch.Down) != 1 {
		t.Errorf("loss marks %+v, down %+v", ch.Loss, ch.Down)
	}
	// The scale reaches above the highest maximum (1 ms) to a round number.
	if last := ch.YTicks[len(ch.YTicks)-1]; last.Label != "1.5 ms" || ch.YTicks[0].Label != "0 ms" {
		t.Errorf("y ticks %+v", ch.YTicks)
	}
	var labels []string
	for _, x := range ch.XTicks {
		labels = append(labels, x.Label)
	}
	if got := strings.Join(labels, " "); got != "12:00 15:00 18:00 21:00 11-02 03:00 06:00" {
		t.Errorf("x labels %q", got)
	}
	if empty := BuildChart(Range30d, nil, from, to, time.Hour, time.UTC); !empty.Empty || len(empty.YTicks) == 0 {
		t.Errorf("an empty chart = %+v, want Empty with axes", empty)
	}
}

func TestTimeTicksFollowTheViewersZone(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	to := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	ticks := timeTicks(Range1y, to.AddDate(-1, 0, 0), to, sh, func(time.Time) string { return "" })
	if len(ticks) != 12 || ticks[0].Label != "2025-12" || ticks[11].Label != "2026-11" {
		t.Errorf("year ticks %+v", ticks)
	}
	ticks = timeTicks(Range30d, to.AddDate(0, 0, -30), to, sh, func(time.Time) string { return "" })
	if ticks[0].Label != "10-04" || ticks[len(ticks)-1].Label != "11-01" {
		t.Errorf("month ticks %+v", ticks)
	}
}

func TestPercentNeverRoundsUpToPerfect(t *testing.T) {
	for in, want := range map[float64]string{100: "100.000%", 99.99999: "99.999%", 99.95: "99.950%", 0: "0.000%"} {
		if got := Percent(in); got != want {
			t.Errorf("Percent(%v) = %q, want %q", in, got, want)
		}
	}
}
