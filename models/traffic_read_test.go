package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// seedTrafficSwitch stores a switch directly (its Store methods belong to
// the network pages).
func seedTrafficSwitch(t *testing.T, g *gorm.DB, name string) *models.Switch {
	t.Helper()
	sw := &models.Switch{Name: name, Address: "127.0.0.9", Version: models.SNMPv2c, IntervalSec: 300,
		TimeoutMs: 3000, MaxOIDs: 30, Enabled: true, LeaseUntil: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := g.Create(sw).Error; err != nil {
		t.Fatal(err)
	}
	return sw
}

// seedTrafficPort stores a monitored port of sw, mapped to org when not nil.
func seedTrafficPort(t *testing.T, g *gorm.DB, sw *models.Switch, ifIndex int, org *int64) *models.SwitchPort {
	t.Helper()
	p := &models.SwitchPort{SwitchID: sw.ID, IfIndex: ifIndex, Ref: fmt.Sprintf("tp%04d%010d", sw.ID, ifIndex),
		Name: fmt.Sprintf("Gi0/%d", ifIndex), Alias: "uplink", SpeedBps: 1e9, HC: true, OrgID: org}
	if err := g.Create(p).Error; err != nil {
		t.Fatal(err)
	}
	return p
}

// trafficAt makes n samples of port every 5 minutes from start (17 s past
// each slot, as a polling phase would), with what(i) deciding each one.
func trafficAt(port int64, start time.Time, n int, what func(i int, s *models.TrafficSample)) []models.TrafficSample {
	out := make([]models.TrafficSample, n)
	for i := range out {
		s := &out[i]
		*s = models.TrafficSample{PortID: port, At: start.Add(time.Duration(i)*5*time.Minute + 17*time.Second),
			OperUp: true, Valid: true, Ms: 300_000}
		what(i, s)
	}
	return out
}

// rollupsFrom builds the rollups of period ("h" or "d") the janitor would
// store from samples: sums of the valid samples, the down ones counted, the
// highest sample rates.
func rollupsFrom(samples []models.TrafficSample, period string) []models.TrafficRollup {
	length := time.Hour
	if period == "d" {
		length = 24 * time.Hour
	}
	var out []models.TrafficRollup
	idx := map[time.Time]int{}
	for i := range samples {
		s := &samples[i]
		start := s.At.UTC().Truncate(length)
		k, ok := idx[start]
		if !ok {
			k = len(out)
			idx[start] = k
			out = append(out, models.TrafficRollup{PortID: s.PortID, Period: period, Start: start})
		}
		r := &out[k]
		if !s.OperUp {
			r.DownSamples++
		}
		if !s.Valid {
			continue
		}
		r.Samples++
		r.Ms += s.Ms
		r.InOctets += s.InOctets
		r.OutOctets += s.OutOctets
		r.InErrors += s.InErrors
		r.InMaxBps, r.OutMaxBps = max(r.InMaxBps, s.InBps()), max(r.OutMaxBps, s.OutBps())
	}
	return out
}

// TestTrafficSeriesAddsUpAcrossTheRollupMarks reads three days of 5-minute
// samples in the four chart steps, first from the raw samples alone, then
// with hourly and daily rollups stored up to marks (the hour mark at an odd
// hour, so one 2-hour point is half rollup, half raw), then with the raw
// samples before the marks purged: every figure of every point is the same.
func TestTrafficSeriesAddsUpAcrossTheRollupMarks(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		port := seedTrafficPort(t, g, seedTrafficSwitch(t, g, "sw-a"), 1, &fx.OrgA.ID)
		start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		samples := trafficAt(port.ID, start, 3*288, func(i int, s *models.TrafficSample) {
			s.InOctets, s.OutOctets = int64(i%37+1)*1_000_000, int64(i%11+1)*500_000
			switch {
			case i%100 == 0:
				*s = models.TrafficSample{PortID: s.PortID, At: s.At, OperUp: true, Note: models.SampleRestart}
			case i >= 390 && i < 400:
				s.OperUp, s.InOctets, s.OutOctets = false, 0, 0
			}
		})
		if _, err := s.RecordTraffic(ctx, samples); err != nil {
			t.Fatal(err)
		}
		to := start.Add(72 * time.Hour)
		steps := []time.Duration{5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 24 * time.Hour}
		series := func() map[time.Duration][]models.TrafficPoint {
			out := map[time.Duration][]models.TrafficPoint{}
			for _, step := range steps {
				ps, err := s.TrafficSeries(ctx, models.OrgScope(fx.OrgA.ID), port, start, to, step)
				if err != nil {
					t.Fatal(err)
				}
				out[step] = ps
			}
			return out
		}
		raw := series()
		for step, want := range map[time.Duration]int{5 * time.Minute: 864, 30 * time.Minute: 144, 2 * time.Hour: 36, 24 * time.Hour: 3} {
			if len(raw[step]) != want {
				t.Errorf("step %v: %d points, want %d", step, len(raw[step]), want)
			}
		}
		// A 30-minute point worked by hand: samples 6–11 of the first day,
		// rates (i%37+1) MB and (i%11+1)×0.5 MB over 300 s each.
		p := raw[30*time.Minute][1]
		var in, out, inMax int64
		for i := 6; i < 12; i++ {
			in += int64(i%37+1) * 1_000_000
			out += int64(i%11+1) * 500_000
			inMax = max(inMax, int64(i%37+1)*1_000_000*8000/300_000)
		}
		if !p.Start.Equal(start.Add(30*time.Minute)) || p.Samples != 6 || p.InOctets != in || p.OutOctets != out ||
			p.InAvgBps != in*8000/1_800_000 || p.OutAvgBps != out*8000/1_800_000 || p.InMaxBps != inMax || p.Down != 0 {
			t.Errorf("second 30-minute point %+v, want in %d out %d max %d", p, in, out, inMax)
		}
		// Samples 0 and 400 restarted the agent: no rates, counted nowhere;
		// 390–399 found the port down.
		if p := raw[30*time.Minute][0]; p.Samples != 5 || p.Ms != 5*300_000 {
			t.Errorf("first point %+v, want the restart left out", p)
		}
		if p := raw[2*time.Hour][16]; p.Down != 10 || p.Samples != 23 {
			t.Errorf("point of the down samples %+v, want 10 down, 23 valid", p)
		}

		// Rollups up to the marks: days before day 2, hours before 41:00.
		dayMark, hourMark := start.Add(24*time.Hour), start.Add(41*time.Hour)
		var before []models.TrafficSample
		for _, smp := range samples {
			if smp.At.Before(hourMark) {
				before = append(before, smp)
			}
		}
		rollups := rollupsFrom(before, "h")
		for _, r := range rollupsFrom(before, "d") {
			if r.Start.Before(dayMark) {
				rollups = append(rollups, r)
			}
		}
		if err := g.Create(&rollups).Error; err != nil {
			t.Fatal(err)
		}
		for period, until := range map[string]time.Time{"h": hourMark, "d": dayMark} {
			if err := g.Table("traffic_marks").Create(map[string]any{"period": period, "built_until": until}).Error; err != nil {
				t.Fatal(err)
			}
		}
		same := func(what string, got map[time.Duration][]models.TrafficPoint, steps ...time.Duration) {
			t.Helper()
			for _, step := range steps {
				if len(got[step]) != len(raw[step]) {
					t.Errorf("%s, step %v: %d points, want %d", what, step, len(got[step]), len(raw[step]))
					continue
				}
				for i := range got[step] {
					if g, w := got[step][i], raw[step][i]; !g.Start.Equal(w.Start) || g != withStart(w, g.Start) {
						t.Errorf("%s, step %v, point %d: %+v, want %+v", what, step, i, g, w)
					}
				}
			}
		}
		same("with rollups", series(), steps...)

		// The raw samples before the hour mark purged: the steps of whole
		// hours read the rollups alone.
		if err := g.Where("port_id = ? AND at < ?", port.ID, hourMark).Delete(&models.TrafficSample{}).Error; err != nil {
			t.Fatal(err)
		}
		purged := series()
		same("raw samples purged", purged, 2*time.Hour, 24*time.Hour)
		if n := len(purged[5*time.Minute]); n != 864-41*12 {
			t.Errorf("5-minute points after the purge: %d, want those after the mark only", n)
		}
	})
}

// withStart is p with Start st, so that points compare whatever the
// Location of their times.
func withStart(p models.TrafficPoint, st time.Time) models.TrafficPoint {
	p.Start = st
	return p
}

// TestTrafficReadsKeepOrganizationsApart lists ports as a customer and as
// staff (unmapped ports, filters, busiest first, pages, the month's 95th),
// and reads another organization's port through every read: not found.
func TestTrafficReadsKeepOrganizationsApart(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		swA, swB := seedTrafficSwitch(t, g, "sw-a"), seedTrafficSwitch(t, g, "sw-b")
		a1 := seedTrafficPort(t, g, swA, 1, &fx.OrgA.ID)
		a2 := seedTrafficPort(t, g, swB, 2, &fx.OrgA.ID)
		b1 := seedTrafficPort(t, g, swA, 3, &fx.OrgB.ID)
		free := seedTrafficPort(t, g, swB, 4, nil)
		now := clock.Now() // 2026-11-02 09:00
		start := now.Add(-2 * time.Hour)
		var all []models.TrafficSample
		for k, p := range []*models.SwitchPort{a1, a2, b1, free} {
			all = append(all, trafficAt(p.ID, start, 24, func(i int, s *models.TrafficSample) {
				// a1 carries 1 MB a sample, a2 2 MB, b1 3 MB, free 4 MB;
				// a1's first hour peaks at 40 MB in one sample.
				s.InOctets, s.OutOctets = int64(k+1)*1_000_000, int64(k+1)*100_000
				if k == 0 && i == 3 {
					s.InOctets = 40_000_000
				}
				s.InErrors, s.OutDiscards = int64(k), 1
			})...)
		}
		// a2's newest sample found it down, without deltas.
		all[47] = models.TrafficSample{PortID: a2.ID, At: all[47].At, Note: models.SampleRestart}
		if _, err := s.RecordTraffic(ctx, all); err != nil {
			t.Fatal(err)
		}
		// b1's month is stored: the list takes it as it is.
		if err := g.Create(&models.TrafficMonth{PortID: b1.ID, Month: "2026-11", Samples: 1, InP95Bps: 777, OutP95Bps: 999}).Error; err != nil {
			t.Fatal(err)
		}
		custA, custB, staff := models.OrgScope(fx.OrgA.ID), models.OrgScope(fx.OrgB.ID), models.AllOrgs()
		list := func(sc models.Scope, f models.TrafficFilter) []models.TrafficPortRow {
			t.Helper()
			l, err := s.ListTrafficPorts(ctx, sc, f)
			if err != nil {
				t.Fatal(err)
			}
			return l.Ports
		}
		refs := func(rows []models.TrafficPortRow) string {
			var out string
			for _, r := range rows {
				out += r.Name + " "
			}
			return out
		}
		// Even filtered by organization B or unmapped, a customer sees its own ports only.
		for _, f := range []models.TrafficFilter{{}, {OrgID: fx.OrgB.ID}, {Unmapped: true}} {
			got := list(custA, f)
			if f.OrgID == 0 && !f.Unmapped {
				if refs(got) != "Gi0/1 Gi0/2 " {
					t.Errorf("customer A lists %q", refs(got))
				}
			} else if len(got) != 0 {
				t.Errorf("customer A with filter %+v lists %q", f, refs(got))
			}
		}
		rows := list(custA, models.TrafficFilter{Month: "2026-11"})
		if r := rows[0]; r.SwitchName != "sw-a" || r.OrgName != fx.OrgA.Name || r.Last == nil ||
			!r.Last.At.Equal(start.Add(23*5*time.Minute+17*time.Second)) || r.InBps() != 1_000_000*8000/300_000 ||
			r.Month == nil || r.Month.Samples != 24 || r.Month.InP95Bps != 1_000_000*8000/300_000 || r.Month.InMaxBps != 40_000_000*8000/300_000 {
			t.Errorf("customer A's first port %+v, last %+v, month %+v", r, r.Last, r.Month)
		}
		if r := rows[1]; r.SwitchName != "sw-b" || r.HasRate() || r.InBps() != 0 || r.Month == nil || r.Month.Samples != 23 {
			t.Errorf("customer A's second port: last %+v month %+v, want no rate (restart)", r.Last, r.Month)
		}
		if got := refs(list(custB, models.TrafficFilter{})); got != "Gi0/3 " {
			t.Errorf("customer B lists %q", got)
		}
		if got := refs(list(models.Scope{}, models.TrafficFilter{})); got != "" {
			t.Errorf("the zero scope lists %q", got)
		}
		if got := refs(list(staff, models.TrafficFilter{Busiest: true})); got != "Gi0/4 Gi0/3 Gi0/1 Gi0/2 " {
			t.Errorf("staff, busiest first: %q", got)
		}
		if got := refs(list(staff, models.TrafficFilter{Unmapped: true})); got != "Gi0/4 " {
			t.Errorf("staff, unmapped: %q", got)
		}
		if got := refs(list(staff, models.TrafficFilter{OrgID: fx.OrgA.ID, SwitchID: swB.ID})); got != "Gi0/2 " {
			t.Errorf("staff, organization A on sw-b: %q", got)
		}
		rowsB := list(staff, models.TrafficFilter{SwitchID: swA.ID, Month: "2026-11"})
		if refs(rowsB) != "Gi0/1 Gi0/3 " || rowsB[1].Month.InP95Bps != 777 || rowsB[1].OrgName != fx.OrgB.Name {
			t.Errorf("staff, sw-a: %q, b1 month %+v", refs(rowsB), rowsB[1].Month)
		}
		l, err := s.ListTrafficPorts(ctx, staff, models.TrafficFilter{Busiest: true, PageSize: 3, Page: 2})
		if err != nil || l.Total != 4 || l.Pages != 2 || l.Page != 2 || refs(l.Ports) != "Gi0/2 " {
			t.Errorf("page 2 of 3 a page: %+v %v", l, err)
		}
		ch, err := s.ListTrafficChoices(ctx, custA)
		if err != nil || len(ch.Orgs) != 1 || ch.Orgs[0].ID != fx.OrgA.ID || len(ch.Switches) != 2 {
			t.Errorf("customer A's choices %+v %v", ch, err)
		}
		if ch, err := s.ListTrafficChoices(ctx, custB); err != nil || len(ch.Switches) != 1 || ch.Switches[0].Name != "sw-a" {
			t.Errorf("customer B's choices %+v %v", ch, err)
		}

		// Busiest over the last hour by mean: free, b1, a2, a1; by peak a1
		// (its 40 MB sample is within the last 2 hours, not the last hour).
		busy := func(since time.Time, by models.TrafficRank, sc models.Scope, limit int) string {
			t.Helper()
			bs, err := s.BusiestPorts(ctx, sc, since, limit, by)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, b := range bs {
				out += fmt.Sprintf("%s=%d ", b.Name, b.Rate(by))
			}
			return out
		}
		rate := func(mb int64) int64 { return mb * 1_000_000 * 8000 / 300_000 }
		if got, want := busy(now.Add(-time.Hour), models.RankMean, staff, 3),
			fmt.Sprintf("Gi0/4=%d Gi0/3=%d Gi0/2=%d ", rate(4), rate(3), rate(2)); got != want {
			t.Errorf("busiest by mean: %q, want %q", got, want)
		}
		if got, want := busy(start, models.RankPeak, staff, 1), fmt.Sprintf("Gi0/1=%d ", rate(40)); got != want {
			t.Errorf("busiest by peak: %q, want %q", got, want)
		}
		if got, want := busy(start, models.RankMean, custA, 0), fmt.Sprintf("Gi0/1=%d Gi0/2=%d ", (39+24)*1_000_000*8000/(24*300_000), rate(2)); got != want {
			t.Errorf("customer A's busiest: %q, want %q", got, want)
		}
		if bs, err := s.BusiestPorts(ctx, staff, start, 1, models.RankMean); err != nil || bs[0].SwitchName != "sw-b" || bs[0].Last == nil {
			t.Errorf("busiest port's details: %+v %v", bs, err)
		}

		// The port's state: 24 samples in the day, errors and discards summed.
		clock.Advance(time.Minute)
		n, err := s.PortNow(ctx, custA, a1)
		if err != nil || n.SwitchName != "sw-a" || n.InErrors != 0 || n.OutDiscards != 24 || n.DaySamples != 24 || n.Last == nil {
			t.Errorf("port now %+v %v", n, err)
		}
		if n, err := s.PortNow(ctx, custB, b1); err != nil || n.InErrors != 2*24 || n.DayDown != 0 {
			t.Errorf("b1 now %+v %v", n, err)
		}
		if n, err := s.PortNow(ctx, custA, a2); err != nil || n.DayDown != 1 {
			t.Errorf("a2 now %+v %v, want the restart sample counted down", n, err)
		}

		// Another organization's port, or an unmapped one, is not found
		// through any read.
		for _, c := range []struct {
			sc models.Scope
			p  *models.SwitchPort
		}{{custA, b1}, {custA, free}, {custB, a1}, {models.Scope{}, a1}} {
			if _, err := s.GetSwitchPort(ctx, c.sc, c.p.Ref); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("get port %s: %v", c.p.Name, err)
			}
			if _, err := s.TrafficSeries(ctx, c.sc, c.p, start, now, time.Hour); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("series of %s: %v", c.p.Name, err)
			}
			if _, err := s.PortNow(ctx, c.sc, c.p); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("now of %s: %v", c.p.Name, err)
			}
			if err := s.EachTrafficSample(ctx, c.sc, c.p, start, now, func(*models.TrafficSample) error { return nil }); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("samples of %s: %v", c.p.Name, err)
			}
		}
		var got []time.Time
		if err := s.EachTrafficSample(ctx, custA, a1, start.Add(time.Hour), now, func(smp *models.TrafficSample) error {
			got = append(got, smp.At)
			return nil
		}); err != nil || len(got) != 12 || !got[0].Equal(start.Add(time.Hour+17*time.Second)) {
			t.Errorf("a1's samples of the last hour: %v %v", got, err)
		}
	})
}
