package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// TestRemappedPortHidesThePreviousTenantsTraffic: a port that served
// organization A goes (through no one) to B. B reads none of A's
// samples: not in the download, the chart (raw samples or rollups), the
// current sample, the day's counts, the month's figures (counted or
// stored) nor its statement; staff still read everything. (The reviewer's
// TestReviewRemappedPortShowsThePreviousTenantsTraffic.)
func TestRemappedPortHidesThePreviousTenantsTraffic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		sw, err := s.CreateSwitch(ctx, eng, v2Switch("core-1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddSwitchPorts(ctx, eng, sw.ID, []models.Interface{{IfIndex: 1, Name: "Gi0/1", SpeedBps: 1e9, HC: true}}); err != nil {
			t.Fatal(err)
		}
		ports, _ := s.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
		p, err := s.MapSwitchPort(ctx, eng, ports[0].ID, models.PortMapping{OrgID: &fx.OrgA.ID})
		if err != nil {
			t.Fatal(err)
		}
		if p.MappedSince == nil || !p.MappedSince.Equal(clock.Now()) {
			t.Fatalf("mapped since %v, want now", p.MappedSince)
		}
		// A's traffic: 80 Mb/s in from the 1st of November (UTC) to now.
		start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		var ss []models.TrafficSample
		for at := start; at.Before(clock.Now()); at = at.Add(5 * time.Minute) {
			ss = append(ss, sample(p.ID, at, 3_000_000_000, 0))
		}
		recordTraffic(t, s, ss)
		if _, err := s.BuildTrafficRollups(ctx, 1000); err != nil {
			t.Fatal(err)
		}
		// A leaves at 10:00; the port goes to B at 10:30.
		clock.Advance(time.Hour)
		if p, err = s.MapSwitchPort(ctx, eng, p.ID, models.PortMapping{}); err != nil {
			t.Fatal(err)
		}
		if p.MappedSince != nil {
			t.Errorf("unmapped port mapped since %v", p.MappedSince)
		}
		clock.Advance(30 * time.Minute)
		if p, err = s.MapSwitchPort(ctx, eng, p.ID, models.PortMapping{OrgID: &fx.OrgB.ID}); err != nil {
			t.Fatal(err)
		}
		mapped := clock.Now()
		scB := models.OrgScope(fx.OrgB.ID)
		l, err := s.ListTrafficPorts(ctx, scB, models.TrafficFilter{})
		if err != nil || len(l.Ports) != 1 || l.Ports[0].Last != nil {
			t.Fatalf("B's list before its first sample: %v %+v; want its port without A's newest sample", err, l)
		}
		// B's traffic: 8 Mb/s for an hour.
		ss = nil
		for at := mapped.Add(5 * time.Minute); !at.After(mapped.Add(time.Hour)); at = at.Add(5 * time.Minute) {
			ss = append(ss, sample(p.ID, at, 300_000_000, 0))
		}
		recordTraffic(t, s, ss)
		clock.Advance(65 * time.Minute)
		if _, err := s.BuildTrafficRollups(ctx, 1000); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSwitchPort(ctx, scB, p.Ref)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := s.EachTrafficSample(ctx, scB, got, start, clock.Now(), func(smp *models.TrafficSample) error {
			n++
			if smp.At.Before(mapped) {
				t.Errorf("B downloads a sample of %v, before it had the port", smp.At)
			}
			return nil
		}); err != nil || n != 12 {
			t.Errorf("B downloads %d samples (%v), want its 12", n, err)
		}
		for _, step := range []time.Duration{5 * time.Minute, time.Hour, 24 * time.Hour} {
			pts, err := s.TrafficSeries(ctx, scB, got, start, clock.Now(), step)
			if err != nil {
				t.Fatal(err)
			}
			samples, peak := 0, int64(0)
			for _, pt := range pts {
				samples += pt.Samples
				peak = max(peak, pt.InMaxBps)
			}
			if samples != 12 || peak != 8_000_000 {
				t.Errorf("B's chart by %v: %d samples, peak %d b/s; want its 12 at 8 Mb/s", step, samples, peak)
			}
		}
		staff, _ := s.TrafficSeries(ctx, models.AllOrgs(), got, start, clock.Now(), 24*time.Hour)
		if len(staff) != 2 || staff[0].InMaxBps != 80_000_000 {
			t.Errorf("staff's chart %+v, want A's traffic too", staff)
		}
		now, err := s.PortNow(ctx, scB, got)
		if err != nil || now.DaySamples != 12 || now.Last == nil || now.Last.At.Before(mapped) {
			t.Errorf("B's port now: %v %+v; want its 12 samples of the day", err, now)
		}
		month := func(sc models.Scope) models.TrafficMonth {
			t.Helper()
			m, err := s.TrafficMonthOf(ctx, sc, got, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		check := func(when string) {
			t.Helper()
			if m := month(scB); m.InMaxBps != 8_000_000 || m.InOctets != 12*300_000_000 {
				t.Errorf("%s: B's November %+v; want its hour at 8 Mb/s alone", when, m)
			}
			if m := month(models.AllOrgs()); m.InMaxBps != 80_000_000 {
				t.Errorf("%s: staff's November %+v; want A's traffic too", when, m)
			}
			l, err := s.ListTrafficPorts(ctx, scB, models.TrafficFilter{Month: "2026-11"})
			if err != nil || len(l.Ports) != 1 || l.Ports[0].Month == nil || l.Ports[0].Month.InMaxBps != 8_000_000 {
				t.Errorf("%s: B's list %v %+v; want its November alone", when, err, l)
			}
			if st := statement(t, s, fx.OrgB.ID, "2026-11"); len(st.Traffic) != 1 || st.Traffic[0].InP95Bps != 8_000_000 {
				t.Errorf("%s: B's statement traffic %+v; want its hour at 8 Mb/s", when, st.Traffic)
			}
		}
		check("November running")
		// Once November is over and stored, B still reads its part.
		clock.Advance(40 * 24 * time.Hour)
		if _, err := s.BuildTrafficMonths(ctx); err != nil {
			t.Fatal(err)
		}
		check("November stored")
		if st := statement(t, s, fx.OrgB.ID, "2026-10"); len(st.Traffic) != 0 {
			t.Errorf("B's October lists %+v, a port it had from November", st.Traffic)
		}
	})
}
